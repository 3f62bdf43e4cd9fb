// serve(argc, argv, root): serve() behind a command line.

#include "fluid/config.hpp"
#include "fluid/errors.hpp"
#include "fluid/log.hpp"
#include "fluid/serve.hpp"
#include "fluid/version.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string>

namespace fluid {

namespace {

/// A CLI11 check from one of fluid's strict parsers, called with an empty
/// setting name: CLI11 puts the flag's name before the message itself.
CLI::Validator checked_by(std::function<void(const std::string&)> parse, std::string name) {
  return CLI::Validator(
      [parse = std::move(parse)](std::string& text) {
        try {
          parse(text);
          return std::string();
        } catch (const FluidError& e) {
          std::string message = e.what();
          if (message.starts_with(": ")) message.erase(0, 2);
          return message;
        }
      },
      "", std::move(name));
}

/// The flags, each kept as given (nullopt: not given).
struct Flags {
  std::optional<std::string> threads, grace_period, startup_timeout, shutdown_timeout;
  std::optional<std::string> status_address, status_port, log_level, log_format;
};

void add_flags(CLI::App& app, Flags& flags) {
  const auto seconds = [] { return checked_by([](const std::string& text) { parse_seconds(text, ""); }, "SECONDS"); };
  app.add_option("--threads", flags.threads, "Threads running the event loop [env: FLUID_SERVE_THREADS; default: 1]")
      ->check(checked_by([](const std::string& text) { parse_thread_count(text, ""); }, "N"))
      ->type_name("N");
  app.add_option("--grace-period", flags.grace_period,
                 "Seconds each worker without a grace period of its own may take to stop before it is forced "
                 "[env: FLUID_STOPPING_GRACE_PERIOD; default: 10]")
      ->check(seconds())
      ->type_name("SECONDS");
  app.add_option("--startup-timeout", flags.startup_timeout,
                 "Seconds the service may take to be ready [env: FLUID_SERVE_STARTUP_TIMEOUT; default: no limit]")
      ->check(seconds())
      ->type_name("SECONDS");
  app.add_option("--shutdown-timeout", flags.shutdown_timeout,
                 "Seconds after the first SIGTERM/SIGINT before the stop is forced "
                 "[env: FLUID_SERVE_SHUTDOWN_TIMEOUT; default: the grace periods]")
      ->check(seconds())
      ->type_name("SECONDS");
  app.add_option("--status-address", flags.status_address,
                 "IP address the status server binds [env: STATUS_ADDRESS; default: 127.0.0.1]")
      ->type_name("IP");
  app.add_option("--status-port", flags.status_port,
                 "TCP port of the status server, 0 for any free one [env: STATUS_PORT]")
      ->check(checked_by([](const std::string& text) { parse_port(text, ""); }, "PORT"))
      ->type_name("PORT");
  app.add_option("--log-level", flags.log_level,
                 "trace, debug, info, warn, error, critical or off [env: LOG_LEVEL; default: info]")
      ->check(checked_by([](const std::string& text) { parse_log_level(text, ""); }, "LEVEL"))
      ->type_name("LEVEL");
  app.add_option("--log-format", flags.log_format, "text or json [env: FLUID_LOG_FORMAT; default: text]")
      ->check(checked_by([](const std::string& text) { parse_log_format(text, ""); }, "FORMAT"))
      ->type_name("FORMAT");
}

/// A flag read at startup by the workers themselves travels as its variable.
void export_flag(const char* variable, const std::optional<std::string>& value) {
  if (value) ::setenv(variable, value->c_str(), 1);
}

void apply(const Flags& flags, ServeOptions& options) {
  if (flags.threads) options.threads = parse_thread_count(*flags.threads, "--threads");
  if (flags.startup_timeout) options.startup_timeout = parse_seconds(*flags.startup_timeout, "--startup-timeout");
  if (flags.shutdown_timeout) options.shutdown_timeout = parse_seconds(*flags.shutdown_timeout, "--shutdown-timeout");
  export_flag("FLUID_STOPPING_GRACE_PERIOD", flags.grace_period);
  export_flag("STATUS_ADDRESS", flags.status_address);
  export_flag("STATUS_PORT", flags.status_port);
  if (flags.log_level) logger()->set_level(parse_log_level(*flags.log_level, "--log-level"));
  if (flags.log_format) set_log_format(parse_log_format(*flags.log_format, "--log-format"));
}

std::string version_line(const std::string& program, const ServeOptions& options) {
  const auto library = "fluid " + std::string(fluid::version());
  if (options.version.empty()) return program + " (" + library + ")";
  return program + " " + options.version + " (" + library + ")";
}

}  // namespace

int serve(int argc, char** argv, Worker& root, ServeOptions options) {
  const std::string program = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : root.worker_name();
  CLI::App app(options.description, program);
  app.set_version_flag("--version", version_line(program, options));
  Flags flags;
  add_flags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    app.exit(e);
    return exit_clean;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return exit_failed;
  }
  apply(flags, options);
  return serve(root, std::move(options));
}

}  // namespace fluid
