#include "fluid/log.hpp"

#include "fluid/config.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <string>

namespace fluid {

namespace {

std::shared_ptr<spdlog::logger> make_logger() {
  if (auto existing = spdlog::get("fluid")) return existing;
  auto created = spdlog::stderr_color_mt("fluid");
  const auto level_name = env("LOG_LEVEL");
  if (!level_name) return created;
  std::string lowered = *level_name;  // Python services spell it "INFO"
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto level = spdlog::level::from_str(lowered);
  // from_str answers "off" for names it does not know; say so instead of going silent.
  if (level == spdlog::level::off && lowered != "off") {
    created->warn("LOG_LEVEL=\"{}\" is not a log level (trace, debug, info, warn, error, critical, off); using info",
                  *level_name);
    return created;
  }
  created->set_level(level);
  return created;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger() {
  static const std::shared_ptr<spdlog::logger> instance = make_logger();
  return instance;
}

}  // namespace fluid
