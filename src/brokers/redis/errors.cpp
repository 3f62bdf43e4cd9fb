#include "brokers/redis/errors.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

namespace fluid::redis {

RedisReplyError::RedisReplyError(std::string_view address, std::string_view command, std::string reply)
    : BrokerError(std::string(address) + ": " + std::string(command) + ": " + reply), reply_(std::move(reply)) {}

std::string_view RedisReplyError::code() const noexcept {
  const std::string_view text = reply_;
  return text.substr(0, text.find(' '));
}

std::exception_ptr call_aborted() {
  return std::make_exception_ptr(boost::system::system_error(boost::asio::error::operation_aborted));
}

}  // namespace fluid::redis
