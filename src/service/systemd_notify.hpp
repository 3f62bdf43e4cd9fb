#pragma once
// sd_notify(3)'s protocol without libsystemd: one datagram per message on the
// Unix socket systemd names in NOTIFY_SOCKET.

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace fluid::detail {

/// Tells systemd how the service is doing (Type=notify units): READY=1,
/// STOPPING=1, STATUS=..., WATCHDOG=1. Inactive (every call does nothing)
/// when NOTIFY_SOCKET is unset. Thread-safe: one sendto() per message,
/// non-blocking, so a slow or gone systemd never stalls the caller.
class SystemdNotifier {
 public:
  /// Reads NOTIFY_SOCKET ("/run/systemd/notify", or "@name" for an abstract
  /// address) and WATCHDOG_USEC / WATCHDOG_PID. A malformed value is logged
  /// and leaves that part inactive.
  SystemdNotifier();
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool active() const noexcept { return fd_ >= 0; }
  /// Sends `message` (newline-separated assignments). The first failure is
  /// logged, later ones are not.
  void notify(std::string_view message);
  /// How often to send WATCHDOG=1 (half of WATCHDOG_USEC), when systemd asks
  /// this process for pings; nullopt otherwise.
  std::optional<std::chrono::microseconds> watchdog_interval() const noexcept { return watchdog_interval_; }

 private:
  int fd_ = -1;
  std::string address_;  // sockaddr_un bytes
  std::optional<std::chrono::microseconds> watchdog_interval_;
  std::atomic<bool> failed_once_{false};
};

}  // namespace fluid::detail
