// steward-marketplace: several UCP vendors over HTTPS on loopback, for Steward's tests and demo.
// Each vendor listens on its own port (bound to port 0); a throw-away CA is made at start-up.
//
//   steward-marketplace --config vendors.json [--state-dir DIR] [--ports-file FILE] [--verbose]
//   steward-marketplace --config vendors.json --check-config
//
// Once listening it prints one JSON line (and writes it to --ports-file, temp-then-rename):
// {"ca_file": ..., "tls_spki_sha256": ..., "pid": ..., "vendors": [{"name", "port", ...}]}.
// SIGTERM or SIGINT stops it. See README.md for the configuration and the admin endpoint.
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <list>
#include <memory>

#include "config.hpp"
#include "crypto.hpp"
#include "vendor.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;
namespace mp = marketplace;

namespace {

constexpr std::size_t kMaxBody = 1 << 20;
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr int kMaxConnections = 1024;  // across all vendors

// Counts a connection for as long as its coroutine lives (all on the one loop thread).
class ConnectionCount {
 public:
  explicit ConnectionCount(int& open) : open_(open) { ++open_; }
  ~ConnectionCount() { --open_; }
  ConnectionCount(const ConnectionCount&) = delete;
  ConnectionCount& operator=(const ConnectionCount&) = delete;

 private:
  int& open_;
};

struct Fetched {
  int error_status = 0;  // 0: body holds the profile
  std::string code;
  std::string body;
};

// GET an https:// URL: SNI and host name checked, no redirects, 64 KiB and 5 s at most.
asio::awaitable<Fetched> fetchProfile(const std::string& url, ssl::context& tls) {
  const auto token = asio::as_tuple(asio::use_awaitable);
  const auto unreachable = [&](const std::string& why) {
    return Fetched{424, "profile_unreachable",
                   "Cannot fetch the platform profile " + url + ": " + why};
  };
  const std::string rest = url.substr(8);
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = authority;
  std::string port = "443";
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string::npos) co_return unreachable("bad host");
    if (close + 2 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
    host = host.substr(1, close - 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [rec, results] = co_await resolver.async_resolve(host, port, token);
  if (rec) co_return unreachable(rec.message());
  beast::ssl_stream<beast::tcp_stream> stream(executor, tls);
  boost::system::error_code ip_ec;
  asio::ip::make_address(host, ip_ec);
  if (ip_ec && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
    co_return unreachable("SNI");
  }
  stream.set_verify_callback(ssl::host_name_verification(host));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  auto [cec, endpoint] = co_await beast::get_lowest_layer(stream).async_connect(results, token);
  if (cec) co_return unreachable(cec.message());
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, token);
  if (hec) co_return unreachable(hec.message());
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, authority);
  req.set(http::field::accept, "application/json");
  auto [wec, written] = co_await http::async_write(stream, req, token);
  if (wec) co_return unreachable(wec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);
  auto [ec, n] = co_await http::async_read(stream, buffer, parser, token);
  if (ec) co_return unreachable(ec.message());
  const auto status = parser.get().result_int();
  if (status != 200) co_return unreachable("HTTP " + std::to_string(status) + " (no redirects)");
  co_return Fetched{0, "", parser.get().body()};
}

asio::awaitable<void> serve(beast::ssl_stream<beast::tcp_stream> stream, mp::Vendor& vendor,
                            int& open, ssl::context& client_tls, bool verbose) {
  const ConnectionCount counted(open);
  const auto token = asio::as_tuple(asio::use_awaitable);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, token);
  if (hec) co_return;
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    parser.header_limit(64 * 1024);
    beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, token);
    if (ec == http::error::body_limit) {
      http::response<http::string_body> res{http::status::payload_too_large, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = R"({"code":"payload_too_large","content":"Bodies are capped at 1 MiB."})";
      res.prepare_payload();
      co_await http::async_write(stream, res, token);
      break;
    }
    if (ec) break;
    auto request = parser.release();
    mp::Request r;
    r.method = std::string(request.method_string());
    r.target = std::string(request.target());
    for (const auto& field : request) {
      std::string name(field.name_string());
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(field.value());
    }
    r.body = std::move(request.body());
    if (const auto url = vendor.profileToFetch(r)) {
      const auto fetched = co_await fetchProfile(*url, client_tls);
      vendor.rememberProfile(*url, fetched.error_status, fetched.code, fetched.body);
    }
    mp::Response response = vendor.handle(r);
    if (verbose) {
      std::cerr << vendor.config().name << ": " << r.method << ' '
                << r.target.substr(0, r.target.find('?')) << " -> " << response.status
                << (response.hang ? " (never sent)" : "")
                << (response.delay_ms > 0 ? " (" + std::to_string(response.delay_ms) + " ms late)"
                                          : "")
                << '\n';
    }
    beast::get_lowest_layer(stream).expires_never();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    if (response.delay_ms > 0) {
      timer.expires_after(std::chrono::milliseconds(response.delay_ms));
      co_await timer.async_wait(token);
    }
    if (response.hang) {
      // Never answer: hold the connection until the client gives up or the marketplace stops.
      beast::get_lowest_layer(stream).expires_after(std::chrono::minutes(10));
      char byte = 0;
      co_await stream.async_read_some(asio::buffer(&byte, 1), token);
      co_return;
    }
    http::response<http::string_body> res{static_cast<http::status>(response.status),
                                          request.version()};
    res.set(http::field::server, "steward-marketplace");
    res.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : response.headers)
      res.set(name, value);
    res.keep_alive(request.keep_alive());
    res.body() = std::move(response.body);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    auto [wec, written] = co_await http::async_write(stream, res, token);
    if (wec || !res.keep_alive()) break;
  }
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(token);
}

asio::awaitable<void> listen(tcp::acceptor acceptor, ssl::context& tls, mp::Vendor& vendor,
                             int& open, ssl::context& client_tls, bool verbose) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    if (open >= kMaxConnections) continue;  // dropped: the socket closes here
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(),
                   serve(beast::ssl_stream<beast::tcp_stream>(std::move(socket), tls), vendor, open,
                         client_tls, verbose),
                   asio::detached);
  }
}

void writeAtomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << text << '\n';
    if (!out) throw std::runtime_error("cannot write " + temp);
  }
  std::filesystem::rename(temp, path);
}

int usage() {
  std::cerr << "usage: steward-marketplace --config FILE [--state-dir DIR] [--ports-file FILE]"
               " [--check-config] [--verbose]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, state_dir, ports_file;
  bool check_only = false;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--config") {
      const char* v = next();
      if (!v) return usage();
      config_path = v;
    } else if (arg == "--state-dir") {
      const char* v = next();
      if (!v) return usage();
      state_dir = v;
    } else if (arg == "--ports-file") {
      const char* v = next();
      if (!v) return usage();
      ports_file = v;
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--verbose") {
      verbose = true;
    } else {
      return usage();
    }
  }
  if (config_path.empty()) return usage();
  mp::Config config;
  try {
    config = mp::loadConfig(config_path);
  } catch (const std::exception& e) {
    std::cerr << "steward-marketplace: " << e.what() << '\n';
    return 1;
  }
  if (check_only) {
    std::cout << "The configuration is valid: " << config.vendors.size() << " vendor(s).\n";
    return 0;
  }
  try {
    if (state_dir.empty()) {
      std::string templ = (std::filesystem::temp_directory_path() / "marketplace-XXXXXX").string();
      if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("cannot make a temp dir");
      state_dir = templ;
    }
    std::filesystem::create_directories(state_dir);
    const auto pki = mp::makeTestPki(state_dir);
    ssl::context tls(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_3_VERSION);
    tls.use_certificate_chain_file(pki.cert_file);
    tls.use_private_key_file(pki.key_file, ssl::context::pem);

    asio::io_context io;
    mp::Clock clock(config.clock_start);
    std::list<mp::Vendor> vendors;
    int open_connections = 0;
    boost::json::array listed;
    const auto address = asio::ip::make_address(config.host);
    std::list<ssl::context> client_contexts;  // one per vendor: its own CA for profile fetches
    for (auto& vc : config.vendors) {
      auto& client_tls = client_contexts.emplace_back(ssl::context::tls_client);
      client_tls.set_verify_mode(ssl::verify_peer);
      if (vc.platform_profile_ca_file.empty()) {
        client_tls.set_default_verify_paths();
      } else {
        client_tls.load_verify_file(vc.platform_profile_ca_file);
      }
      auto& vendor = vendors.emplace_back(std::move(vc), clock);
      tcp::acceptor acceptor(io, tcp::endpoint(address, 0));
      const auto port = acceptor.local_endpoint().port();
      const std::string host = address.is_v6() ? "[" + config.host + "]" : config.host;
      vendor.setOrigin("https://" + host + ":" + std::to_string(port));
      boost::json::object entry{{"name", vendor.config().name},
                                {"version", vendor.config().version},
                                {"port", port},
                                {"origin", vendor.origin()},
                                {"profile_url", vendor.origin() + "/.well-known/ucp"},
                                {"ucp_endpoint", vendor.origin() + "/ucp"},
                                {"admin_url", vendor.origin() + "/_admin/state"},
                                {"signing_key", vendor.key().jwk()},
                                {"signing_key_thumbprint", mp::jwkThumbprint(vendor.key().jwk())}};
      if (vendor.config().negotiation) {
        entry["negotiation_endpoint"] = vendor.origin() + "/negotiation";
      }
      listed.push_back(entry);
      asio::co_spawn(
          io, listen(std::move(acceptor), tls, vendor, open_connections, client_tls, verbose),
          asio::detached);
    }
    const std::string announcement =
        boost::json::serialize(boost::json::object{{"ca_file", pki.ca_file},
                                                   {"tls_spki_sha256", pki.spki_sha256},
                                                   {"pid", static_cast<std::int64_t>(getpid())},
                                                   {"state_dir", state_dir},
                                                   {"vendors", listed}});
    if (!ports_file.empty()) writeAtomically(ports_file, announcement);
    std::cout << announcement << std::endl;

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "steward-marketplace: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
