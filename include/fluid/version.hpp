#pragma once
/// @file
/// fluid's own version.

#include <string_view>

namespace fluid {

/// The version of fluid this program was built with ("0.1.0"): its CMake
/// project version, shown by serve()'s --version and exported as
/// fluid_build_info{version}.
std::string_view version() noexcept;

}  // namespace fluid
