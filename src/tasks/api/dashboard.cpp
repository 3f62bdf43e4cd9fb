#include "tasks/api/dashboard.hpp"

#include "fluid/version.hpp"

namespace fluid::detail {

namespace {

constexpr std::string_view config_marker = "{{FLUID_DASHBOARD_CONFIG}}";

/// JSON safe inside a <script> element: "</" could close it.
std::string script_safe(std::string json) {
  for (auto at = json.find("</"); at != std::string::npos; at = json.find("</", at + 3)) json.replace(at, 2, "<\\/");
  return json;
}

}  // namespace

std::string dashboard_page(const TaskApi& api, const std::string& rows_html) {
  const nlohmann::json config{{"prefix", api.prefix},
                              {"actions", api.actions},
                              {"title", api.target->worker_name()},
                              {"version", std::string(fluid::version())}};
  std::string page(dashboard_html);
  const auto at = page.find(config_marker);
  if (at != std::string::npos) page.replace(at, config_marker.size(), script_safe(config.dump()));
  const auto table = page.find("<table id=\"workers\">");
  const auto body = table == std::string::npos ? table : page.find("<tbody>", table);
  if (body != std::string::npos) page.insert(body + std::string_view("<tbody>").size(), rows_html);
  return page;
}

}  // namespace fluid::detail
