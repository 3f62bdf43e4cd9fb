#pragma once
/// @file
/// Default worker names from C++ type names.

#include <string>
#include <string_view>
#include <typeinfo>

namespace fluid::detail {

/// "fluid::QueueConsumerWorker<long>" -> "QueueConsumerWorker": drops
/// namespaces, "(anonymous namespace)::" and template arguments.
std::string unqualified_name(std::string_view demangled);

/// "SimpleWorker" -> "simple_worker", "HTTPServer" -> "http_server".
std::string snake_case(std::string_view camel);

/// The default worker name of a dynamic type: snake_case of its unqualified name.
std::string default_name(const std::type_info& type);

}  // namespace fluid::detail
