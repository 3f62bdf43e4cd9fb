# Packaging test driver, run as `cmake -P run_consumer.cmake` by ctest.
#
#   FLUID_CONSUMER=find_package      installs the already-built fluid from
#       FLUID_BINARY_DIR into a fresh prefix, then builds and runs
#       tests/package/consumer against it with find_package(fluid CONFIG).
#   FLUID_CONSUMER=add_subdirectory  builds and runs tests/package/subdir_consumer,
#       which does add_subdirectory(FLUID_SOURCE_DIR) and checks that none of
#       fluid's tests, examples or benchmarks are part of its build.
#
# The consumer uses the compiler, build type, flags and generator of the build
# that registered the test. Its build tree is kept between runs (incremental).

cmake_minimum_required(VERSION 3.25)

foreach(var FLUID_CONSUMER FLUID_SOURCE_DIR FLUID_BINARY_DIR FLUID_WORK_DIR
            FLUID_GENERATOR FLUID_CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
  endif()
endforeach()

set(build_dir "${FLUID_WORK_DIR}/build")
set(config_args)
if(NOT "${FLUID_CONFIG}" STREQUAL "")
  set(config_args --config "${FLUID_CONFIG}")
endif()

function(step description)
  message(STATUS "[${FLUID_CONSUMER}] ${description}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[${FLUID_CONSUMER}] ${description}: failed (${rc})")
  endif()
endfunction()

set(cache_args
  "-DCMAKE_CXX_COMPILER=${FLUID_CXX_COMPILER}"
  "-DCMAKE_BUILD_TYPE=${FLUID_CONFIG}"
  "-DCMAKE_CXX_FLAGS=${FLUID_CXX_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${FLUID_EXE_LINKER_FLAGS}")
if(NOT "${FLUID_MAKE_PROGRAM}" STREQUAL "")
  list(APPEND cache_args "-DCMAKE_MAKE_PROGRAM=${FLUID_MAKE_PROGRAM}")
endif()

if(FLUID_CONSUMER STREQUAL "find_package")
  set(source_dir "${FLUID_SOURCE_DIR}/tests/package/consumer")
  set(prefix "${FLUID_WORK_DIR}/prefix")
  file(REMOVE_RECURSE "${prefix}")
  step("install fluid into ${prefix}"
    "${CMAKE_COMMAND}" --install "${FLUID_BINARY_DIR}" --prefix "${prefix}" ${config_args})
  file(GLOB_RECURSE installed_config "${prefix}/*/fluidConfig.cmake")
  if(NOT installed_config)
    message(FATAL_ERROR "[find_package] no fluidConfig.cmake was installed under ${prefix}")
  endif()
  # Only the fresh prefix (plus what the parent build searched) may provide fluid.
  set(prefix_path "${prefix}")
  if(NOT "${FLUID_PREFIX_PATH}" STREQUAL "")
    string(APPEND prefix_path ";${FLUID_PREFIX_PATH}")
  endif()
  list(APPEND cache_args "-DCMAKE_PREFIX_PATH=${prefix_path}"
                         "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF")
  set(executable_name fluid_package_consumer)
elseif(FLUID_CONSUMER STREQUAL "add_subdirectory")
  set(source_dir "${FLUID_SOURCE_DIR}/tests/package/subdir_consumer")
  list(APPEND cache_args "-DFLUID_SOURCE_DIR=${FLUID_SOURCE_DIR}")
  if(NOT "${FLUID_PREFIX_PATH}" STREQUAL "")
    list(APPEND cache_args "-DCMAKE_PREFIX_PATH=${FLUID_PREFIX_PATH}")
  endif()
  set(executable_name fluid_subdir_consumer)
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown FLUID_CONSUMER '${FLUID_CONSUMER}'")
endif()

step("configure ${source_dir}"
  "${CMAKE_COMMAND}" -S "${source_dir}" -B "${build_dir}" -G "${FLUID_GENERATOR}" ${cache_args})
step("build"
  "${CMAKE_COMMAND}" --build "${build_dir}" --parallel 2 ${config_args})

# Single-config generators put the executable in the build dir, multi-config
# ones in a per-config subdirectory.
set(executable "${build_dir}/${executable_name}")
if(NOT EXISTS "${executable}" AND NOT "${FLUID_CONFIG}" STREQUAL "")
  set(executable "${build_dir}/${FLUID_CONFIG}/${executable_name}")
endif()
step("run ${executable}" "${executable}")
message(STATUS "[${FLUID_CONSUMER}] passed")
