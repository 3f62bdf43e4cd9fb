# Finds hiredis (Debian's libhiredis-dev, used only as a RESP codec) and wraps
# it in the imported target fluid::hiredis. Debian's HiredisConfig.cmake sets
# HIREDIS_INCLUDE_DIRS and HIREDIS_LIBRARIES but defines no target (and fails
# when asked for no version, hence the 0.14). fluid's own build and the
# installed fluidConfig.cmake both include this file: the static library
# needs hiredis again when a user links it.
if(NOT TARGET fluid::hiredis)
  find_package(Hiredis 0.14 CONFIG QUIET)
  if(Hiredis_FOUND AND HIREDIS_INCLUDE_DIRS AND HIREDIS_LIBRARIES)
    add_library(fluid::hiredis INTERFACE IMPORTED)
    set_target_properties(fluid::hiredis PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${HIREDIS_INCLUDE_DIRS}"
      INTERFACE_LINK_LIBRARIES "${HIREDIS_LIBRARIES}")
  endif()
endif()
