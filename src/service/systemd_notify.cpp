#include "service/systemd_notify.hpp"

#include "fluid/config.hpp"
#include "fluid/log.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>

namespace fluid::detail {

namespace {

/// The sockaddr_un for NOTIFY_SOCKET's value, as bytes; empty if it cannot be one.
std::string socket_address(const std::string& name) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const bool abstract = name.starts_with('@');
  if ((!abstract && !name.starts_with('/')) || name.size() < 2 || name.size() > sizeof address.sun_path) return {};
  std::memcpy(address.sun_path, name.data(), name.size());
  if (abstract) address.sun_path[0] = '\0';  // Linux's abstract namespace: no file
  // A path ends at its NUL; an abstract name is exactly its bytes.
  const auto length = offsetof(sockaddr_un, sun_path) + name.size() + (abstract ? 0 : 1);
  return std::string(reinterpret_cast<const char*>(&address), std::min(length, sizeof address));
}

template <class Number>
std::optional<Number> parse_number(const std::string& text) {
  Number value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// Half of WATCHDOG_USEC, if systemd asks this process (WATCHDOG_PID unset or ours) for pings.
std::optional<std::chrono::microseconds> watchdog_from_environment() {
  const auto usec = env("WATCHDOG_USEC");
  if (!usec) return std::nullopt;
  if (const auto pid = env("WATCHDOG_PID")) {
    if (parse_number<long>(*pid) != static_cast<long>(::getpid())) return std::nullopt;  // meant for another process
  }
  const auto value = parse_number<long long>(*usec);
  if (!value || *value <= 0) {
    logger()->warn("WATCHDOG_USEC=\"{}\" is not a positive number of microseconds: no watchdog pings", *usec);
    return std::nullopt;
  }
  return std::chrono::microseconds(*value / 2);
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
  const auto name = env("NOTIFY_SOCKET");
  if (!name) return;
  address_ = socket_address(*name);
  if (address_.empty()) {
    logger()->warn("NOTIFY_SOCKET=\"{}\" is not a socket path or an @abstract name: not notifying systemd", *name);
    return;
  }
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    logger()->warn("NOTIFY_SOCKET: cannot open a socket: {}: not notifying systemd", std::strerror(errno));
    return;
  }
  watchdog_interval_ = watchdog_from_environment();
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

void SystemdNotifier::notify(std::string_view message) {
  if (fd_ < 0) return;
  const auto sent = ::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(address_.data()),
                             static_cast<socklen_t>(address_.size()));
  if (sent >= 0 || failed_once_.exchange(true)) return;
  logger()->warn("NOTIFY_SOCKET: cannot notify systemd: {} (further failures not logged)", std::strerror(errno));
}

}  // namespace fluid::detail
