#include "service/process_metrics.hpp"

#include "fluid/version.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <limits>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace fluid::detail {

namespace {

/// The fields of /proc/self/stat after the command name (which may hold spaces): field 3 first.
std::vector<std::string> stat_fields() {
  std::ifstream file("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> out;
  for (std::string field; rest >> field;) out.push_back(field);
  return out;
}

std::optional<double> field(const std::vector<std::string>& fields, std::size_t number) {
  const auto index = number - 3;  // stat(5) numbers fields from 1; ours start at field 3
  if (index >= fields.size()) return std::nullopt;
  try {
    return std::stod(fields[index]);
  } catch (...) {
    return std::nullopt;
  }
}

/// When the system booted, in Unix seconds ("btime" of /proc/stat).
std::optional<double> boot_time() {
  std::ifstream file("/proc/stat");
  for (std::string key; file >> key;) {
    if (key == "btime") {
      double value = 0;
      if (file >> value) return value;
      return std::nullopt;
    }
    file.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

std::optional<double> open_fds() {
  std::error_code error;
  double count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++count;
  }
  if (error) return std::nullopt;
  return count - 1;  // the iterator's own descriptor
}

void gauge(Exposition& out, const char* name, const char* type, const char* help, std::optional<double> value) {
  if (!value) return;
  out.family(name, type, help, [&] { out.sample(name, "", format_value(*value)); });
}

}  // namespace

void write_process_metrics(Exposition& out) {
  const auto fields = stat_fields();
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  const auto user = field(fields, 14);
  const auto system = field(fields, 15);
  const auto start = field(fields, 22);
  const auto virtual_bytes = field(fields, 23);
  const auto resident_pages = field(fields, 24);
  const auto boot = boot_time();
  gauge(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
        user && system ? std::optional((*user + *system) / ticks) : std::nullopt);
  gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
        resident_pages ? std::optional(*resident_pages * page) : std::nullopt);
  gauge(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtual_bytes);
  gauge(out, "process_open_fds", "gauge", "Number of open file descriptors.", open_fds());
  rlimit limit{};
  gauge(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
        ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? std::optional(static_cast<double>(limit.rlim_cur)) : std::nullopt);
  gauge(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
        start && boot ? std::optional(*boot + *start / ticks) : std::nullopt);
}

void write_build_info(Exposition& out) {
  out.family("fluid_build_info", "gauge", "The fluid library this program was built with; always 1.", [&] {
    out.sample("fluid_build_info", label_set({{"version", std::string(fluid::version())}}), "1");
  });
}

}  // namespace fluid::detail
