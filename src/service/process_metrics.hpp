#pragma once
// The process itself as Prometheus sees every process (the names of the
// official client libraries), and fluid_build_info.

#include "service/exposition.hpp"

namespace fluid::detail {

/// process_cpu_seconds_total, process_resident_memory_bytes,
/// process_virtual_memory_bytes, process_open_fds, process_max_fds and
/// process_start_time_seconds, read from /proc; a figure that cannot be read
/// is left out.
void write_process_metrics(Exposition& out);

/// fluid_build_info{version="..."} 1.
void write_build_info(Exposition& out);

}  // namespace fluid::detail
