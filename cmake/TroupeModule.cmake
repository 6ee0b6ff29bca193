# troupe_module(NAME SOURCES ... DEPS ...): one library per runtime module,
# public headers under runtime/include/troupe/NAME.
function(troupe_module name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS" ${ARGN})
  add_library(troupe_${name} ${arg_SOURCES})
  add_library(troupe::${name} ALIAS troupe_${name})
  target_include_directories(troupe_${name} PUBLIC
    "${PROJECT_SOURCE_DIR}/runtime/include"
    PRIVATE "${PROJECT_SOURCE_DIR}/runtime/src")
  target_link_libraries(troupe_${name} PUBLIC ${arg_DEPS} PRIVATE troupe_warnings)
endfunction()

# troupe_test(NAME SOURCES ... DEPS ... [LABELS ...] [PROPERTIES ...]): one GoogleTest
# binary, each case a ctest test with the labels and further ctest properties given.
function(troupe_test name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPS;LABELS;PROPERTIES" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE ${arg_DEPS} GTest::gtest GTest::gtest_main troupe_warnings)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30
    PROPERTIES LABELS "${arg_LABELS}" ${arg_PROPERTIES})
endfunction()
