// The vocabulary of decision kinds, so every module writes the same names and the review
// functions (log filters, explain) can recognise them. Kinds are "<area>.<what happened>".
#pragma once

#include <string_view>

namespace steward::ledger::kind {

// discovery/
// A caller the owner's API refused (not root or steward-admin); recorded once per caller and
// method and minute, with how many more were refused meanwhile.
inline constexpr std::string_view securityRefused = "security.refused";
inline constexpr std::string_view deviceAdmitted = "device.admitted";
inline constexpr std::string_view deviceRejected = "device.rejected";
inline constexpr std::string_view deviceMerged = "device.merged";
inline constexpr std::string_view deviceRemoved = "device.removed";
// needs/ (the module also writes need.held, need.reopened, need.escalated,
// need.source-withdrawn, need.source-satisfied)
inline constexpr std::string_view needOpened = "need.opened";
inline constexpr std::string_view needMerged = "need.merged";
inline constexpr std::string_view needClosed = "need.closed";
// policy/: outcome "allow" | "needs-approval" | "deny"; reasons carry the rule ids and budget
// figures; policy_revision is set.
inline constexpr std::string_view policyEvaluated = "policy.evaluated";
inline constexpr std::string_view policyReloaded = "policy.reloaded";
// negotiation/. explain() shows offers side by side when their input carries (all optional):
//   rfq.sent:        {"rfq": id, ...}
//   offer.received:  {"vendor": id, "offer_id": id, "total": "24.90 EUR", "delivery": "2d",
//                     "score": 0.82, "raw": "<the signed message as received>"}; causes: the rfq
//   offer.chosen / offer.rejected: {"offer_id": id, "score": 0.82, ...}; causes: the offer;
//                     reasons: why
//   counter.sent / counter.received: like offers; causes: the offer they answer
inline constexpr std::string_view rfqSent = "rfq.sent";
inline constexpr std::string_view offerReceived = "offer.received";
inline constexpr std::string_view offerChosen = "offer.chosen";
inline constexpr std::string_view offerRejected = "offer.rejected";
inline constexpr std::string_view counterSent = "counter.sent";
inline constexpr std::string_view counterReceived = "counter.received";
inline constexpr std::string_view orderAccepted = "order.accepted";
inline constexpr std::string_view orderConfirmed = "order.confirmed";
inline constexpr std::string_view orderCancelled = "order.cancelled";
inline constexpr std::string_view orderDelivered = "order.delivered";
inline constexpr std::string_view disputeOpened = "dispute.opened";
inline constexpr std::string_view promotionReceived = "promotion.received";
// ledger/ (Approvals, Controls): input carries "uid" of the D-Bus caller where one acted.
inline constexpr std::string_view approvalRequested = "approval.requested";
inline constexpr std::string_view approvalGranted = "approval.granted";
inline constexpr std::string_view approvalRejected = "approval.rejected";
inline constexpr std::string_view approvalTimedOut = "approval.timed-out";
inline constexpr std::string_view purchasingPaused = "purchasing.paused";
inline constexpr std::string_view purchasingResumed = "purchasing.resumed";

}  // namespace steward::ledger::kind
