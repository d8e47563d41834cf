// A core::Logger whose lines a test can read back (to check that something was logged once).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/log.hpp"

namespace steward::test {

class CapturedLog {
 public:
  CapturedLog() : file_(open_memstream(&buffer_, &size_)), logger_(core::LogLevel::debug, file_) {}
  ~CapturedLog() {
    std::fclose(file_);
    std::free(buffer_);
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  core::Logger& logger() { return logger_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }
  int count(std::string_view needle) {
    const std::string all = text();
    int n = 0;
    for (auto pos = all.find(needle); pos != std::string::npos; pos = all.find(needle, pos + 1))
      ++n;
    return n;
  }

 private:
  char* buffer_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
  core::Logger logger_;
};

}  // namespace steward::test
