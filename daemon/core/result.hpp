// Errors as values: a small Result<T> carrying either a value or an Error: a code a caller can act
// on (not found, conflict, retry later, ...) beside a message for a person. Runtime operations
// return these; exceptions are reserved for start-up failures.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace steward::core {

// What kind of failure, so that callers decide without reading the message. The owner's API maps
// each code to one named D-Bus error.
enum class ErrorCode {
  invalidInput,  // the request or data itself is malformed; asking again the same way fails again
  notFound,      // no such thing (decision, approval, order, device)
  conflict,      // it exists but is not in a state that allows this (already decided, live order)
  denied,        // the caller, the policy or the owner does not allow it
  unavailable,   // cannot be done now (broker down, database busy, vendor 5xx): retry later
  timeout,       // a deadline passed before an answer
  internal,      // anything else; the message says what
};

// "invalid input", "not found", ...: for logs and people.
std::string_view errorCodeName(ErrorCode code);

struct Error {
  std::string message;
  ErrorCode code = ErrorCode::internal;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error fail(std::string message) {
  return Error{std::move(message), ErrorCode::internal};
}
inline Error fail(ErrorCode code, std::string message) {
  return Error{std::move(message), code};
}
inline Error invalidInput(std::string message) {
  return fail(ErrorCode::invalidInput, std::move(message));
}
inline Error notFound(std::string message) {
  return fail(ErrorCode::notFound, std::move(message));
}
inline Error conflict(std::string message) {
  return fail(ErrorCode::conflict, std::move(message));
}
inline Error denied(std::string message) {
  return fail(ErrorCode::denied, std::move(message));
}
inline Error unavailable(std::string message) {
  return fail(ErrorCode::unavailable, std::move(message));
}
inline Error timedOut(std::string message) {
  return fail(ErrorCode::timeout, std::move(message));
}

}  // namespace steward::core
