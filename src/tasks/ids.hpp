#pragma once
// Ids of runs and managers: uuid4 in aio-fluid's form (32 lowercase hex digits).

#include <string>

namespace fluid::detail {

/// A random (version 4) UUID as 32 lowercase hex digits, without dashes.
std::string new_uuid_hex();

}  // namespace fluid::detail
