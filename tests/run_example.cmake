# Runs one example as a test: cmake -DEXAMPLE=<path> [-DDURATION=<seconds>]
#   [-DEXPECT=<regex>] [-DEXPECT_LAST=<regex>] [-DEXPECT_EXIT=<code>] -P run_example.cmake
# The example must exit with EXPECT_EXIT (default 0); its standard output must
# match EXPECT and its last line EXPECT_LAST, when given. DURATION is passed in
# the environment.
# (A plain add_test with PASS_REGULAR_EXPRESSION would ignore the exit code.)

if(NOT EXAMPLE)
  message(FATAL_ERROR "run_example.cmake: EXAMPLE is not set")
endif()
if(DEFINED DURATION)
  set(ENV{DURATION} "${DURATION}")
endif()

execute_process(COMMAND "${EXAMPLE}"
  RESULT_VARIABLE result
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
message("${out}${err}")

if(NOT DEFINED EXPECT_EXIT)
  set(EXPECT_EXIT 0)
endif()
if(NOT result STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "${EXAMPLE} exited with ${result}, not ${EXPECT_EXIT}")
endif()
if(DEFINED EXPECT AND NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "${EXAMPLE}: the output does not contain \"${EXPECT}\"")
endif()
if(DEFINED EXPECT_LAST)
  string(STRIP "${out}" stripped)
  string(REGEX MATCH "[^\n]*$" last_line "${stripped}")
  if(NOT last_line MATCHES "${EXPECT_LAST}")
    message(FATAL_ERROR "${EXAMPLE}: the last line is \"${last_line}\", not \"${EXPECT_LAST}\"")
  endif()
endif()
