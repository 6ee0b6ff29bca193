# The version and revision baked into the binaries. An image build has no .git in its
# context, so it passes both with -D; a checkout asks git at configure time.
set(TROUPE_VERSION "" CACHE STRING
    "Version baked into the binaries (default: git describe --tags --always --dirty)")
set(TROUPE_REVISION "" CACHE STRING
    "Revision baked into the binaries (default: git rev-parse --short HEAD)")

# troupe_git(OUT ARGS...): the trimmed output of git ARGS in the source tree, or "" on failure.
function(troupe_git out)
  execute_process(COMMAND git ${ARGN} WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                  OUTPUT_VARIABLE text RESULT_VARIABLE failed ERROR_QUIET
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(failed)
    set(text "")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# The values in use: the cache variables when set, else what git says now. Kept apart from
# the cache so a later configure after a new commit asks git again.
set(troupe_build_version "${TROUPE_VERSION}")
set(troupe_build_revision "${TROUPE_REVISION}")
find_program(TROUPE_GIT git)
if(TROUPE_GIT AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
  if(troupe_build_version STREQUAL "")
    # The same command as scripts/image, so a local build and the image name one commit alike.
    troupe_git(troupe_build_version describe --tags --always --dirty)
  endif()
  if(troupe_build_revision STREQUAL "")
    troupe_git(troupe_build_revision rev-parse --short HEAD)
  endif()
  # A commit or checkout reconfigures, so the next build names it.
  troupe_git(head_log rev-parse --path-format=absolute --git-path logs/HEAD)
  if(EXISTS "${head_log}")
    set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
                 "${head_log}")
  endif()
endif()
if(troupe_build_version STREQUAL "")
  set(troupe_build_version "0.0.0-unknown")
endif()
if(troupe_build_revision STREQUAL "")
  set(troupe_build_revision "unknown")
endif()
message(STATUS "Troupe version ${troupe_build_version} (${troupe_build_revision})")
