#pragma once
// The dashboard at "/": one self-contained page, embedded in the library.

#include "tasks/api/api_http.hpp"

#include <string>
#include <string_view>

namespace fluid::detail {

/// The page's HTML, CSS and JavaScript as built into the library (generated
/// from src/service/assets/dashboard.html by CMake).
extern const std::string_view dashboard_html;

/// The dashboard for `api`: the embedded page with the server's settings
/// (prefix, actions on or off, the tree's name, fluid's version) filled in,
/// and the worker table's first rows (`rows_html`, so that the page names
/// every worker before its script runs, and without one).
std::string dashboard_page(const TaskApi& api, const std::string& rows_html);

}  // namespace fluid::detail
