// See avahi_netns.hpp. The same steps as ../shared/recipes/with-avahi-netns, done in-process so
// the fixture knows every PID it started and can end each by PID.
#include "support/avahi_netns.hpp"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace steward::test {
namespace {

constexpr const char* kBusSocket = "/run/dbus/system_bus_socket";
constexpr const char* kAvahiPidFile = "/run/avahi-daemon/pid";

std::string systemError(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

void pause10ms() {
  struct timespec ts {
    0, 10'000'000
  };
  nanosleep(&ts, nullptr);
}

bool unixSocketAccepts(const char* path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Avahi needs a multicast-capable interface; in a new namespace `lo` is down and has no
// multicast flag.
core::Result<void> loopbackUpWithMulticast() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return core::fail(systemError("socket"));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  core::Result<void> result;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    result = core::fail(systemError("SIOCGIFFLAGS lo"));
  } else {
    ifr.ifr_flags |= IFF_UP | IFF_MULTICAST;
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) result = core::fail(systemError("SIOCSIFFLAGS lo"));
  }
  ::close(fd);
  return result;
}

// org.freedesktop.Avahi.Server.GetState, without bus activation; -1 when the daemon is not on
// the bus (yet).
int avahiServerState() {
  sd_bus* bus = nullptr;
  if (sd_bus_open_system(&bus) < 0) return -1;
  sd_bus_message* call = nullptr;
  sd_bus_message* reply = nullptr;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  int state = -1;
  if (sd_bus_message_new_method_call(bus, &call, "org.freedesktop.Avahi", "/",
                                     "org.freedesktop.Avahi.Server", "GetState") >= 0 &&
      sd_bus_message_set_auto_start(call, 0) >= 0 &&
      sd_bus_call(bus, call, 2'000'000, &error, &reply) >= 0) {
    std::int32_t value = -1;
    if (sd_bus_message_read(reply, "i", &value) >= 0) state = value;
  }
  sd_bus_error_free(&error);
  sd_bus_message_unref(reply);
  sd_bus_message_unref(call);
  sd_bus_flush_close_unref(bus);
  return state;
}

// Every child gets SIGKILL when this process dies, so a test that crashes (an ASan abort) leaves
// no daemon behind in a namespace nobody can reach any more. setpriv execs the program: the PID
// stays the program's.
std::vector<std::string> diesWithTest(std::vector<std::string> argv) {
  static const std::string setpriv = findProgram("setpriv");
  if (setpriv.empty()) return argv;
  if (argv.at(0).find('/') == std::string::npos) {  // setpriv's own PATH may lack /usr/sbin
    const auto path = findProgram(argv[0]);
    if (!path.empty()) argv[0] = path;
  }
  argv.insert(argv.begin(), {setpriv, "--pdeathsig", "KILL", "--"});
  return argv;
}

}  // namespace

core::Result<std::unique_ptr<AvahiNetns>> AvahiNetns::create() {
  for (const char* program : {"dbus-daemon", "avahi-daemon"})
    if (findProgram(program).empty()) return core::fail(std::string(program) + " is not installed");
  std::unique_ptr<AvahiNetns> ns(new AvahiNetns());
  if (auto entered = ns->enter(); !entered) return entered.error();
  return ns;
}

core::Result<void> AvahiNetns::enter() {
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
    return core::fail(systemError("cannot create a network and mount namespace (unshare)") +
                      " - needs root or CAP_SYS_ADMIN, and a single-threaded process");
  // Nothing mounted from here on may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return core::fail(systemError("making / private in the new mount namespace"));
  // A private /run: our own bus socket and avahi-daemon's pid file and socket.
  if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    return core::fail(systemError("mounting a tmpfs on /run"));
  ::mkdir("/run/dbus", 0755);
  ::mkdir("/run/avahi-daemon", 0755);
  if (auto lo = loopbackUpWithMulticast(); !lo) return lo;

  // libavahi-client and sd-bus both honour this; point them at the namespace's bus explicitly
  // in case the environment names another one.
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", (std::string("unix:path=") + kBusSocket).c_str(), 1);
  // The stock system bus, except that it stays root: switching to messagebus would clear the
  // parent-death signal that ends it with a crashed test.
  const std::string bus_conf = dir_.write(
      "system-bus.conf",
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig>\n  <include>/usr/share/dbus-1/system.conf</include>\n"
      "  <user>root</user>\n</busconfig>\n");
  dbus_ =
      Process(diesWithTest({"dbus-daemon", "--config-file=" + bus_conf, "--nofork", "--nopidfile"}),
              dir_.file("dbus.log"));
  if (!waitFor([] { return unixSocketAccepts(kBusSocket); }, std::chrono::seconds(10)))
    return core::fail("dbus-daemon did not start: " + readFile(dir_.file("dbus.log")));

  avahi_conf_ = dir_.write("avahi-daemon.conf", std::string("[server]\nhost-name=") + kHostName +
                                                    "\nuse-ipv4=yes\nuse-ipv6=no\n"
                                                    "allow-interfaces=lo\nenable-dbus=yes\n"
                                                    "[wide-area]\nenable-wide-area=no\n"
                                                    "[publish]\npublish-hinfo=no\n"
                                                    "publish-workstation=no\n");
  return {};
}

AvahiNetns::~AvahiNetns() {
  avahi_.stop(std::chrono::milliseconds(3000));
  dbus_.stop(std::chrono::milliseconds(3000));
}

void AvahiNetns::startAvahi() {
  if (avahi_.running()) throw std::logic_error("avahi-daemon is already running");
  ::unlink(kAvahiPidFile);  // a killed daemon leaves its pid file behind
  avahi_ = Process(diesWithTest({"avahi-daemon", "--no-drop-root", "--no-chroot", "--no-proc-title",
                                 "-f", avahi_conf_}),
                   dir_.file("avahi.log"));
}

void AvahiNetns::stopAvahi(int sig) {
  avahi_.signal(sig);
  if (!avahi_.wait(std::chrono::seconds(5))) avahi_.stop(std::chrono::milliseconds(0));
  ::unlink(kAvahiPidFile);
}

bool AvahiNetns::avahiRunning() {
  return avahi_.running();
}

bool AvahiNetns::waitAvahiRunning(std::chrono::milliseconds timeout) {
  constexpr int kServerRunning = 2;  // AVAHI_SERVER_RUNNING
  return waitFor([&] { return !avahi_.running() || avahiServerState() == kServerRunning; },
                 timeout) &&
         avahi_.running();
}

std::string AvahiNetns::avahiLog() const {
  return readFile(dir_.file("avahi.log"));
}

Process AvahiNetns::spawn(std::vector<std::string> argv, const std::string& log_name) {
  return Process(diesWithTest(std::move(argv)), dir_.file(log_name + ".log"));
}

std::string AvahiNetns::run(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                            const std::function<void()>& meanwhile) {
  const std::string log = dir_.file("run-" + std::to_string(++runs_) + ".log");
  Process process(diesWithTest(std::move(argv)), log);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (process.running() && std::chrono::steady_clock::now() < deadline) {
    if (meanwhile)
      meanwhile();
    else
      pause10ms();
  }
  process.stop(std::chrono::milliseconds(200));
  return readFile(log);
}

std::vector<std::string> AvahiNetns::interfaces() {
  std::vector<std::string> names;
  if (auto* list = ::if_nameindex()) {
    for (auto* i = list; i->if_index != 0; ++i)
      names.emplace_back(i->if_name);
    ::if_freenameindex(list);
  }
  return names;
}

}  // namespace steward::test
