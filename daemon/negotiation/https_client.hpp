// HTTPS to vendors on the hub's loop: Boost.Beast over OpenSSL, one coroutine per request, every
// step under a deadline, answers capped in size. The server is verified against the system's CA
// store or a retailer's own CA file from the policy, by host name (SNI and RFC 6125 checks), and
// optionally pinned by the SHA-256 of its public key. One idle connection per origin is kept for
// reuse. Nothing here blocks the loop; errors come back as values with a code (unavailable for a
// connection failure or 5xx worth retrying, timeout, invalidInput for an answer that breaks the
// caps or HTTP itself, denied for a certificate that does not verify).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace steward::negotiation {

// An https:// URL split for a request; nothing else is accepted.
struct HttpsUrl {
  std::string host;  // a name or an IP literal (IPv6 without brackets)
  std::uint16_t port = 443;
  std::string target = "/";  // path and query
  std::string origin() const;
};
core::Result<HttpsUrl> parseHttpsUrl(std::string_view url);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // "" = the URL's
  Headers headers;     // Host, User-Agent, Content-Length are set by the client
  std::string body;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
  // The first value of a header (case-insensitive name), or "".
  std::string header(std::string_view name) const;
};

// How a retailer's server is trusted; from the household policy.
struct TrustSettings {
  std::string ca_file;   // "" = the system's CA store
  std::string spki_pin;  // base64(SHA-256(SubjectPublicKeyInfo)); "" = no pin
};

struct HttpsOptions {
  std::chrono::milliseconds connect_timeout{5000};   // resolve + TCP + TLS handshake
  std::chrono::milliseconds request_timeout{10000};  // write + read of one exchange
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::string user_agent = "steward";
  std::chrono::milliseconds idle_keep = std::chrono::seconds(30);  // reuse window
};

class HttpsClient {
 public:
  HttpsClient(boost::asio::any_io_executor executor, HttpsOptions options = {});
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // One exchange. A kept connection the server closed meanwhile is replaced once, transparently.
  boost::asio::awaitable<core::Result<HttpResponse>> request(const HttpsUrl& url,
                                                             HttpRequest request,
                                                             TrustSettings trust = {});

  // request() again after a connection failure, a timeout or a 502/503/504, at most `attempts`
  // times in all, waiting `backoff`, 2×`backoff`, ... between tries. Only for requests that are
  // safe to repeat: GET, or a state change carrying an Idempotency-Key (refused otherwise).
  boost::asio::awaitable<core::Result<HttpResponse>> requestWithRetry(
      const HttpsUrl& url, HttpRequest request, TrustSettings trust, int attempts,
      std::chrono::milliseconds backoff);

  std::size_t idleConnections() const;

 private:
  struct Connection;
  boost::asio::awaitable<core::Result<std::unique_ptr<Connection>>> connect(
      const HttpsUrl& url, const TrustSettings& trust);
  boost::asio::awaitable<core::Result<HttpResponse>> exchange(Connection& c, const HttpsUrl& url,
                                                              const HttpRequest& request,
                                                              bool& reusable);

  boost::asio::any_io_executor executor_;
  HttpsOptions options_;
  std::map<std::string, std::unique_ptr<Connection>> idle_;  // by origin + trust
};

}  // namespace steward::negotiation
