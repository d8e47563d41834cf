// See result.hpp.
#include "core/result.hpp"

namespace steward::core {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalidInput:
      return "invalid input";
    case ErrorCode::notFound:
      return "not found";
    case ErrorCode::conflict:
      return "conflict";
    case ErrorCode::denied:
      return "denied";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::internal:
      return "internal error";
  }
  return "internal error";
}

}  // namespace steward::core
