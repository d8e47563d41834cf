// See https_client.hpp.
#include "negotiation/https_client.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>

namespace steward::negotiation {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool isIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

// base64(SHA-256(SubjectPublicKeyInfo)) of the server's certificate, or "" when unavailable.
std::string spkiPin(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  std::string pin;
  if (len > 0) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(der, static_cast<std::size_t>(len), digest, &digest_len, EVP_sha256(),
                   nullptr) == 1)
      pin = base64(digest, digest_len);
  }
  OPENSSL_free(der);
  X509_free(cert);
  return pin;
}

core::Error networkError(const boost::system::error_code& ec, const std::string& what) {
  if (ec == beast::error::timeout) return core::timedOut(what + ": no answer in time");
  return core::unavailable(what + ": " + ec.message());
}

std::string trustKey(const HttpsUrl& url, const TrustSettings& trust) {
  return url.origin() + "|" + trust.ca_file + "|" + trust.spki_pin;
}

}  // namespace

std::string HttpsUrl::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "https://" + (v6 ? "[" + host + "]" : host) +
         (port == 443 ? "" : ":" + std::to_string(port));
}

core::Result<HttpsUrl> parseHttpsUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() > 2048) return core::invalidInput("URL longer than 2048 characters");
  if (url.size() < kScheme.size() || !iequals(url.substr(0, kScheme.size()), kScheme))
    return core::invalidInput("not an https:// URL: " + std::string(url.substr(0, 80)));
  std::string_view rest = url.substr(kScheme.size());
  const auto slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "/" : rest.substr(slash);
  if (const auto hash = target.find('#'); hash != std::string_view::npos)
    target = target.substr(0, hash);
  if (target.empty() || target.front() == '?') return core::invalidInput("URL without a path");
  if (authority.find('@') != std::string_view::npos)
    return core::invalidInput("URLs with user information are not accepted");
  HttpsUrl out;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return core::invalidInput("unclosed [ in URL host");
    out.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return core::invalidInput("junk after the URL's host");
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty() || out.host.size() > 253) return core::invalidInput("URL without a host");
  for (char c : out.host) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return core::invalidInput("bad character in the URL's host");
  }
  if (!port.empty()) {
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535) return core::invalidInput("bad port in URL");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return core::invalidInput("bad port in URL");
    out.port = static_cast<std::uint16_t>(value);
  }
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return core::invalidInput("control or space characters in the URL's path");
  out.target = std::string(target);
  return out;
}

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

struct HttpsClient::Connection {
  Connection(asio::any_io_executor ex, ssl::context context)
      : ctx(std::move(context)), stream(ex, ctx) {}
  ssl::context ctx;
  beast::ssl_stream<beast::tcp_stream> stream;
  std::chrono::steady_clock::time_point idle_since;
};

HttpsClient::HttpsClient(asio::any_io_executor executor, HttpsOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

HttpsClient::~HttpsClient() = default;

std::size_t HttpsClient::idleConnections() const {
  return idle_.size();
}

asio::awaitable<core::Result<std::unique_ptr<HttpsClient::Connection>>> HttpsClient::connect(
    const HttpsUrl& url, const TrustSettings& trust) {
  using R = core::Result<std::unique_ptr<Connection>>;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                  ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (trust.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(trust.ca_file, ec);
  }
  if (ec)
    co_return R(core::invalidInput(
        "cannot use the CA " +
        (trust.ca_file.empty() ? std::string("store") : "file " + trust.ca_file) + ": " +
        ec.message()));
  ctx.set_verify_mode(ssl::verify_peer);
  auto c = std::make_unique<Connection>(executor_, std::move(ctx));
  c->stream.set_verify_callback(ssl::host_name_verification(url.host));
  // SNI carries names only (RFC 6066 §3).
  if (!isIpLiteral(url.host) &&
      !SSL_set_tlsext_host_name(c->stream.native_handle(), url.host.c_str()))
    co_return R(core::fail("cannot set the TLS server name"));

  tcp::resolver resolver(executor_);
  auto& tcp_stream = beast::get_lowest_layer(c->stream);
  tcp_stream.expires_after(options_.connect_timeout);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(url.host, std::to_string(url.port), kTuple);
  if (rec) co_return R(networkError(rec, "cannot resolve " + url.host));
  auto [cec, endpoint] = co_await tcp_stream.async_connect(endpoints, kTuple);
  if (cec) co_return R(networkError(cec, "cannot connect to " + url.origin()));
  (void)endpoint;
  auto [hec] = co_await c->stream.async_handshake(ssl::stream_base::client, kTuple);
  if (hec) {
    const long verify = SSL_get_verify_result(c->stream.native_handle());
    if (verify != X509_V_OK)
      co_return R(core::denied("the certificate of " + url.origin() +
                               " does not verify: " + X509_verify_cert_error_string(verify)));
    co_return R(networkError(hec, "TLS with " + url.origin() + " failed"));
  }
  if (!trust.spki_pin.empty() && spkiPin(c->stream.native_handle()) != trust.spki_pin)
    co_return R(core::denied("the key of " + url.origin() + " does not match its pin"));
  co_return R(std::move(c));
}

asio::awaitable<core::Result<HttpResponse>> HttpsClient::exchange(Connection& c,
                                                                  const HttpsUrl& url,
                                                                  const HttpRequest& request,
                                                                  bool& reusable) {
  using R = core::Result<HttpResponse>;
  reusable = false;
  http::request<http::string_body> req;
  const auto verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown)
    co_return R(core::invalidInput("unknown HTTP method " + request.method));
  req.method(verb);
  req.target(request.target.empty() ? url.target : request.target);
  req.version(11);
  req.set(http::field::host,
          url.port == 443 ? url.host : url.host + ":" + std::to_string(url.port));
  req.set(http::field::user_agent, options_.user_agent);
  for (const auto& [k, v] : request.headers) {
    if (k.find_first_of("\r\n:") != std::string::npos ||
        v.find_first_of("\r\n") != std::string::npos)
      co_return R(core::invalidInput("bad header " + k));
    req.set(k, v);
  }
  req.body() = request.body;
  req.prepare_payload();

  auto& tcp_stream = beast::get_lowest_layer(c.stream);
  tcp_stream.expires_after(options_.request_timeout);
  auto [wec, written] = co_await http::async_write(c.stream, req, kTuple);
  (void)written;
  if (wec) co_return R(networkError(wec, "sending to " + url.origin()));

  beast::flat_buffer buffer(options_.max_header_bytes + options_.max_body_bytes);
  http::response_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
  parser.body_limit(options_.max_body_bytes);
  auto [rec, read] = co_await http::async_read(c.stream, buffer, parser, kTuple);
  (void)read;
  if (rec == http::error::body_limit)
    co_return R(core::invalidInput(url.origin() + " answered with more than " +
                                   std::to_string(options_.max_body_bytes) + " bytes"));
  if (rec == http::error::header_limit)
    co_return R(core::invalidInput(url.origin() + " answered with headers over " +
                                   std::to_string(options_.max_header_bytes) + " bytes"));
  if (rec == http::error::end_of_stream || rec == asio::error::eof ||
      rec == asio::error::connection_reset || rec == ssl::error::stream_truncated)
    co_return R(core::unavailable(url.origin() + " closed the connection"));
  if (rec && rec.category() == http::make_error_code(http::error::bad_version).category())
    co_return R(core::invalidInput(url.origin() + " did not answer in HTTP: " + rec.message()));
  if (rec) co_return R(networkError(rec, "reading from " + url.origin()));

  auto res = parser.release();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(res.body());
  reusable = res.keep_alive();
  co_return R(std::move(out));
}

asio::awaitable<core::Result<HttpResponse>> HttpsClient::request(const HttpsUrl& url,
                                                                 HttpRequest request,
                                                                 TrustSettings trust) {
  using R = core::Result<HttpResponse>;
  const std::string key = trustKey(url, trust);
  std::unique_ptr<Connection> c;
  bool kept = false;
  if (auto it = idle_.find(key); it != idle_.end()) {
    if (std::chrono::steady_clock::now() - it->second->idle_since < options_.idle_keep) {
      c = std::move(it->second);
      kept = true;
    }
    idle_.erase(it);
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!c) {
      auto fresh = co_await connect(url, trust);
      if (!fresh) co_return R(fresh.error());
      c = std::move(*fresh);
      kept = false;
    }
    bool reusable = false;
    auto r = co_await exchange(*c, url, request, reusable);
    // A kept connection the server had closed while idle: once more on a new one.
    if (!r && kept && r.error().code == core::ErrorCode::unavailable) {
      c.reset();
      continue;
    }
    if (r && reusable) {
      c->idle_since = std::chrono::steady_clock::now();
      idle_[key] = std::move(c);
    }
    co_return r;
  }
  co_return R(core::unavailable(url.origin() + " keeps closing the connection"));
}

asio::awaitable<core::Result<HttpResponse>> HttpsClient::requestWithRetry(
    const HttpsUrl& url, HttpRequest request, TrustSettings trust, int attempts,
    std::chrono::milliseconds backoff) {
  using R = core::Result<HttpResponse>;
  bool idempotent = iequals(request.method, "GET") || iequals(request.method, "HEAD");
  for (const auto& [k, v] : request.headers)
    idempotent = idempotent || (iequals(k, "Idempotency-Key") && !v.empty());
  if (!idempotent)
    co_return R(
        core::invalidInput(request.method + " without an Idempotency-Key must not be sent twice"));
  attempts = std::clamp(attempts, 1, 10);
  asio::steady_timer timer(executor_);
  for (int i = 1;; ++i) {
    auto r = co_await this->request(url, request, trust);
    const bool retry_status = r && (r->status == 502 || r->status == 503 || r->status == 504);
    const bool retry_error = !r && (r.error().code == core::ErrorCode::unavailable ||
                                    r.error().code == core::ErrorCode::timeout);
    if ((!retry_status && !retry_error) || i >= attempts) co_return r;
    timer.expires_after(backoff * (1 << (i - 1)));
    auto [ec] = co_await timer.async_wait(kTuple);
    if (ec) co_return R(core::unavailable("cancelled while waiting to retry"));
  }
}

}  // namespace steward::negotiation
