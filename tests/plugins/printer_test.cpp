// The printer plugin's reading of ipptool output: supplies (printer-supply and CUPS marker-*),
// state reasons as faults, and refusals of output that is not a successful answer.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "ipp_status.hpp"

namespace steward::printer {
namespace {

// What `ipptool -t` printed for ippeveprinter (CUPS 2.4) asked with ipptoolTestFile().
constexpr const char* kIppeveprinter = R"("/tmp/steward-printer-Ab12Cd":
    Steward supplies                                                     [PASS]
        printer-make-and-model (textWithoutLanguage) = Steward Test Printer
        printer-supply (1setOf octetString) = index=1;class=receptacleThatIsFilled;type=wasteToner;unit=percent;maxcapacity=100;level=25;colorantname=unknown;,index=2;class=supplyThatIsConsumed;type=toner;unit=percent;maxcapacity=100;level=75;colorantname=black;
        printer-uuid (uri) = urn:uuid:a458b2ed-195f-391c-59f9-d19f7b7ad510
        printer-state-reasons (keyword) = none
)";

TEST(IppStatus, ReadsSuppliesFromPrinterSupply) {
  std::string error;
  const auto s = parseIpptoolOutput(kIppeveprinter, error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->make_and_model, "Steward Test Printer");
  EXPECT_EQ(s->uuid, "a458b2ed-195f-391c-59f9-d19f7b7ad510");
  ASSERT_EQ(s->supplies.size(), 2u);
  EXPECT_EQ(s->supplies[0].key, "waste-toner");
  EXPECT_EQ(s->supplies[0].remaining, 75);  // a box 25 % full has 75 % room left
  EXPECT_EQ(s->supplies[1].key, "toner-black");
  EXPECT_EQ(s->supplies[1].remaining, 75);
  EXPECT_TRUE(s->faults.empty());
}

TEST(IppStatus, StateReasonsBecomeFaultsBySeverity) {
  std::string error;
  const auto s = parseIpptoolOutput(
      "    Steward supplies     [PASS]\n"
      "        printer-state-reasons (1setOf keyword) = media-jam-error,toner-low-warning,"
      "cover-open-warning,moving-to-paused-report,marker-supply-empty-error\n",
      error);
  ASSERT_TRUE(s) << error;
  ASSERT_EQ(s->faults.size(), 3u);
  EXPECT_EQ(s->faults[0].key, "media-jam");
  EXPECT_EQ(s->faults[0].severity, "critical");
  EXPECT_EQ(s->faults[1].key, "cover-open");
  EXPECT_EQ(s->faults[1].severity, "warning");
  EXPECT_EQ(s->faults[2].key, "moving-to-paused");
  EXPECT_EQ(s->faults[2].severity, "info");
}

TEST(IppStatus, FallsBackToCupsMarkers) {
  std::string error;
  const auto s = parseIpptoolOutput(
      "    Steward supplies     [PASS]\n"
      "        marker-names (1setOf nameWithoutLanguage) = Black Ink,Cyan Ink,Unknown\n"
      "        marker-levels (1setOf integer) = 5,60,-1\n"
      "        marker-low-levels (1setOf integer) = 15,15,15\n",
      error);
  ASSERT_TRUE(s) << error;
  ASSERT_EQ(s->supplies.size(), 2u);
  EXPECT_EQ(s->supplies[0].key, "black-ink");
  EXPECT_EQ(s->supplies[0].remaining, 5);
  EXPECT_EQ(s->supplies[0].low_threshold, 15);
  EXPECT_EQ(s->supplies[1].key, "cyan-ink");
}

TEST(IppStatus, SupplyLevelsInOtherUnitsAndUnknownLevels) {
  auto s = parsePrinterSupply(
      "index=3;class=supplyThatIsConsumed;type=opc;unit=impressions;maxcapacity=20000;level=1000;"
      "colorantname=unknown;");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->key, "opc");
  EXPECT_DOUBLE_EQ(s->remaining, 5);
  EXPECT_FALSE(parsePrinterSupply("index=1;type=toner;unit=percent;level=-3;"));     // "some left"
  EXPECT_FALSE(parsePrinterSupply("index=1;type=toner;unit=impressions;level=5;"));  // no max
  EXPECT_FALSE(parsePrinterSupply("garbage"));
}

TEST(IppStatus, RefusesAnythingButASuccessfulAnswer) {
  std::string error;
  EXPECT_FALSE(
      parseIpptoolOutput("ipptool: Unable to connect to \"printer\" on port 631\n", error));
  EXPECT_NE(error.find("[PASS]"), std::string::npos);
  EXPECT_FALSE(parseIpptoolOutput("    Steward supplies     [FAIL]\n", error));
}

TEST(IppStatus, PrinterSupplyWinsOverTheCupsMarkersWhenBothAreThere) {
  std::string error;
  const auto s = parseIpptoolOutput(
      "    Steward supplies     [PASS]\n"
      "        printer-supply (octetString) = index=1;class=supplyThatIsConsumed;type=toner;"
      "unit=percent;maxcapacity=100;level=40;colorantname=black;\n"
      "        marker-names (nameWithoutLanguage) = Black Toner\n"
      "        marker-levels (integer) = 40\n",
      error);
  ASSERT_TRUE(s) << error;
  ASSERT_EQ(s->supplies.size(), 1u);  // one toner, not two needs for the same cartridge
  EXPECT_EQ(s->supplies[0].key, "toner-black");
}

bool local(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    ss.ss_family = AF_INET6;
  } else {
    ADD_FAILURE() << text;
  }
  return isLocalAddress(reinterpret_cast<const sockaddr*>(&ss));
}

TEST(IppStatus, OnlyLocalNetworkAddressesAreLocal) {
  for (const char* yes : {"127.0.0.1", "10.1.2.3", "172.16.0.9", "172.31.255.255", "192.168.1.20",
                          "169.254.10.1", "::1", "fe80::1", "fd12:3456::1", "::ffff:192.168.1.2"})
    EXPECT_TRUE(local(yes)) << yes;
  for (const char* no : {"8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.64.0.1",
                         "2001:db8::1", "::ffff:8.8.8.8", "0.0.0.0", "224.0.0.251"})
    EXPECT_FALSE(local(no)) << no;
}

TEST(IppStatus, PrinterUris) {
  std::string error;
  auto u = parseIppUri("ipp://printer.local:631/ipp/print", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "printer.local");
  EXPECT_EQ(u->withHost("192.168.1.20"), "ipp://192.168.1.20:631/ipp/print");
  u = parseIppUri("ipps://[fe80::1]/ipp/print", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->host, "fe80::1");
  EXPECT_EQ(u->withHost("fe80::1"), "ipps://[fe80::1]/ipp/print");
  for (const char* bad : {"http://printer/", "ipp://", "ipp://p:0/x", "ipp://p:x/y",
                          "ipp://user@p/x", "ipp://p/a b", "ipp://p/$(reboot)", "ipp://[::1/x"})
    EXPECT_FALSE(parseIppUri(bad, error)) << bad;
}

}  // namespace
}  // namespace steward::printer
