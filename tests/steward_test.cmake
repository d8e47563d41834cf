# steward_add_test(<name> SOURCES <files...> LIBS <targets...>)
# One GoogleTest executable whose cases are registered with CTest one by one.
function(steward_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} steward_test_support GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    STEWARD_SAMPLES_DIR="${STEWARD_SHARED_SAMPLES}"
    STEWARD_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    STEWARD_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endfunction()
