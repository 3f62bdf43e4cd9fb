# fluid_warnings: the one place fluid's own targets (library, tests, examples,
# benchmarks, fuzz targets) get their warning flags. Linked PRIVATE, never
# exported, never imposed on a user. Included by the top-level project and by
# fuzz/, a project of its own.
if(NOT TARGET fluid_warnings)
  add_library(fluid_warnings INTERFACE)
  target_compile_options(fluid_warnings INTERFACE -Wall -Wextra -Wno-missing-field-initializers)
endif()
