#include "fluid/version.hpp"

namespace fluid {

std::string_view version() noexcept { return FLUID_VERSION_STRING; }

}  // namespace fluid
