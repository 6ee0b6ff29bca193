# troupe_embed(TARGET VARIABLE FILE): compiles FILE's text into TARGET as
# `troupe::embedded::VARIABLE` (a std::string_view) in the generated header
# <troupe/embedded/VARIABLE.hpp>, so binaries never look for files at run time.
function(troupe_embed target variable file)
  get_filename_component(abs "${file}" ABSOLUTE)
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/embedded/troupe/embedded")
  set(out "${dir}/${variable}.hpp")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DIN=${abs} -DOUT=${out} -DVAR=${variable}
            -P "${PROJECT_SOURCE_DIR}/cmake/TroupeEmbedFile.cmake"
    DEPENDS "${abs}" "${PROJECT_SOURCE_DIR}/cmake/TroupeEmbedFile.cmake"
    COMMENT "Embedding ${file}")
  target_sources(${target} PRIVATE "${out}")
  target_include_directories(${target} PRIVATE "${CMAKE_CURRENT_BINARY_DIR}/embedded")
endfunction()
