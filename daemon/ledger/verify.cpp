// See verify.hpp. One pass over the decisions in sequence order. Each record is hashed where it
// stands; a record whose hash only matches at another position (its id says which: ids are
// "D<seq>") is a genuine record out of place. A finding explains the broken link that follows
// it, so one tampering yields one finding, not a cascade.
#include "ledger/verify.hpp"

#include <algorithm>
#include <charconv>

#include "ledger/chain.hpp"

namespace steward::ledger {
namespace {

std::optional<std::int64_t> seqOfId(std::string_view id) {
  if (id.size() < 2 || id.front() != 'D') return std::nullopt;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), n);
  if (ec != std::errc() || end != id.data() + id.size()) return std::nullopt;
  return n;
}

std::string d(std::int64_t seq) {
  return "D" + std::to_string(seq);
}

struct StoredCheckpoint {
  Checkpoint checkpoint;
  bool external = false;
};

class Walker {
 public:
  Walker(Database& db, VerifyReport& report) : db_(db), report_(report) {}

  Result<void> prepare() {
    auto by_id = db_.prepare("SELECT seq FROM decisions WHERE id = ?1");
    if (!by_id) return by_id.error();
    by_id_ = std::move(*by_id);
    return {};
  }

  void add(std::int64_t seq, Problem p, std::string detail) {
    all_.push_back(Finding{seq, p, std::move(detail)});
  }

  // Where the record with id D<seq> is now, if anywhere.
  Result<std::optional<std::int64_t>> positionOf(std::int64_t seq) {
    by_id_.bind(1, d(seq));
    auto row = by_id_.step();
    std::optional<std::int64_t> pos;
    if (row && *row) pos = by_id_.int64(0);
    by_id_.reset();
    if (!row) return row.error();
    return pos;
  }

  Result<void> row(DecisionRowView r, std::string_view stored_hash) {
    ++report_.records;
    const std::int64_t expected = prev_seq_ + 1;
    bool gap = false;
    if (r.seq > expected) {
      gap = true;
      add(expected, Problem::deleted,
          r.seq - expected == 1 ? d(expected) + " is missing"
                                : d(expected) + ".." + d(r.seq - 1) + " are missing");
    } else if (r.seq < expected) {
      add(r.seq, Problem::inserted,
          "sequence number " + std::to_string(r.seq) + " comes before the first record");
      gap = true;
    }

    // Where does this record's content belong?
    std::optional<std::int64_t> origin;
    if (hasher_.hashHex(r) == stored_hash) {
      origin = r.seq;
    } else if (auto claimed = seqOfId(r.id); claimed && *claimed != r.seq) {
      DecisionRowView moved = r;
      moved.seq = *claimed;
      if (hasher_.hashHex(moved) == stored_hash) origin = *claimed;
    }
    const bool linked = r.prev_hash == prev_hash_;
    bool suspect = false;

    if (!origin) {
      suspect = true;
      auto pos = positionOf(r.seq);
      if (!pos) return pos.error();
      if (*pos && **pos > r.seq) {
        add(r.seq, Problem::inserted,
            "this record is not part of the chain; " + d(r.seq) + " follows at sequence number " +
                std::to_string(**pos));
      } else {
        add(r.seq, Problem::edited, "the stored content no longer matches its hash");
      }
    } else if (*origin != r.seq) {
      suspect = true;
      // Inside a run of displaced records each links to the one before; only the run's start
      // (a broken link after a trusted record) is a new finding.
      if (!linked && !prev_suspect_ && !gap) {
        auto pos = positionOf(r.seq);
        if (!pos) return pos.error();
        if (*origin > r.seq) {
          if (*pos) {
            add(r.seq, Problem::reordered,
                d(*origin) + " is at sequence number " + std::to_string(r.seq) + "; " + d(r.seq) +
                    " is at " + std::to_string(**pos));
          } else {
            add(r.seq, Problem::deleted,
                d(r.seq) + " is missing and the records after it were renumbered");
          }
        } else if (*pos && **pos < r.seq) {
          add(r.seq, Problem::reordered,
              d(*origin) + " is at sequence number " + std::to_string(r.seq) + "; " + d(r.seq) +
                  " is at " + std::to_string(**pos));
        } else {
          add(*origin, Problem::inserted,
              std::to_string(r.seq - *origin) + " record(s) were inserted before " + d(*origin) +
                  ", which now sits at sequence number " + std::to_string(r.seq));
        }
      }
    } else if (!linked && !prev_suspect_ && !gap) {
      // Both records hash correctly where they stand, yet do not chain: someone recomputed a
      // hash. The earlier of the two is where trust ends.
      const std::int64_t at = prev_seq_ > 0 ? prev_seq_ : r.seq;
      add(at, Problem::rewritten,
          d(r.seq) + " was chained to a different " + (prev_seq_ > 0 ? d(prev_seq_) : "start") +
              " than the one stored (hashes were recomputed)");
      suspect = true;
    }

    checkCheckpointsAt(r.seq, stored_hash);
    prev_seq_ = r.seq;
    prev_hash_.assign(stored_hash);
    prev_suspect_ = suspect;
    return {};
  }

  void setCheckpoints(std::vector<StoredCheckpoint> cps) {
    checkpoints_ = std::move(cps);
    std::stable_sort(checkpoints_.begin(), checkpoints_.end(), [](const auto& a, const auto& b) {
      return a.checkpoint.seq < b.checkpoint.seq;
    });
    seen_.assign(checkpoints_.size(), false);
  }

  void checkCheckpointsAt(std::int64_t seq, std::string_view stored_hash) {
    while (next_cp_ < checkpoints_.size() && checkpoints_[next_cp_].checkpoint.seq < seq)
      ++next_cp_;
    for (std::size_t i = next_cp_; i < checkpoints_.size() && checkpoints_[i].checkpoint.seq == seq;
         ++i) {
      seen_[i] = true;
      const auto& c = checkpoints_[i];
      if (c.checkpoint.head_hash != stored_hash) {
        add(seq, Problem::diverged,
            std::string(c.external ? "the external" : "a stored") + " checkpoint signed at " +
                formatUtc(c.checkpoint.at) + " attests another hash for " + d(seq) +
                ": history up to here was rewritten");
        if (c.external) external_matches_ = false;
      } else if (c.external) {
        external_matches_ = true;
      }
    }
  }

  // After the walk: checkpoints beyond the last record mean the tail was cut off.
  void finish() {
    for (std::size_t i = 0; i < checkpoints_.size(); ++i) {
      const auto& c = checkpoints_[i];
      if (c.checkpoint.seq == 0) {
        if (c.external) external_matches_ = true;
        continue;
      }
      if (seen_[i]) continue;
      if (c.checkpoint.seq > prev_seq_) {
        add(prev_seq_ + 1, Problem::truncated,
            "the ledger ends at " + (prev_seq_ > 0 ? d(prev_seq_) : std::string("nothing")) +
                " but " + (c.external ? "the external" : "a stored") + " checkpoint signed at " +
                formatUtc(c.checkpoint.at) + " covers " + d(c.checkpoint.seq));
      }
      // A checkpoint whose record was deleted mid-chain is already a "deleted" finding.
      if (c.external) external_matches_ = false;
    }
  }

  std::vector<Finding>& findings() { return all_; }
  std::optional<bool> externalMatches() const { return external_matches_; }

 private:
  Database& db_;
  VerifyReport& report_;
  ChainHasher hasher_;
  Statement by_id_;
  std::int64_t prev_seq_ = 0;
  std::string prev_hash_;
  bool prev_suspect_ = false;
  std::vector<Finding> all_;
  std::vector<StoredCheckpoint> checkpoints_;
  std::vector<bool> seen_;
  std::size_t next_cp_ = 0;
  std::optional<bool> external_matches_;
};

Result<std::vector<StoredCheckpoint>> loadCheckpoints(Database& db, Walker& walker,
                                                      VerifyReport& report) {
  std::vector<StoredCheckpoint> out;
  auto has = db.hasTable("checkpoints");
  if (!has) return has.error();
  if (*has) {
    auto q = db.prepare(
        "SELECT c.seq, c.head_hash, c.at_ms, c.key_id, c.signature, COALESCE(k.public_key, '') "
        "FROM checkpoints c LEFT JOIN checkpoint_keys k ON k.key_id = c.key_id ORDER BY c.id");
    if (!q) return q.error();
    if (auto done = q->forEach([&](auto&) {
          Checkpoint c;
          c.seq = q->int64(0);
          c.head_hash = q->text(1);
          c.at = core::fromUnixMillis(q->int64(2));
          c.key_id = q->text(3);
          c.signature = q->text(4);
          c.public_key = q->text(5);
          ++report.checkpoints_checked;
          // A checkpoint that fails its signature attests nothing, so the chain is not compared
          // with it (that would only add noise to the finding).
          if (c.public_key.empty()) {
            walker.add(
                c.seq, Problem::unknown_key,
                "a stored checkpoint names key " + c.key_id + ", which the ledger does not hold");
          } else if (!signatureValid(c)) {
            walker.add(c.seq, Problem::bad_signature,
                       "the stored checkpoint for " + d(c.seq) + " signed at " + formatUtc(c.at) +
                           " has an invalid signature");
          } else {
            out.push_back(StoredCheckpoint{std::move(c), false});
          }
        });
        !done)
      return done.error();
  }
  return out;
}

}  // namespace

std::string_view problemName(Problem p) {
  switch (p) {
    case Problem::edited:
      return "edited";
    case Problem::deleted:
      return "deleted";
    case Problem::inserted:
      return "inserted";
    case Problem::reordered:
      return "reordered";
    case Problem::rewritten:
      return "rewritten";
    case Problem::truncated:
      return "truncated";
    case Problem::diverged:
      return "diverged";
    case Problem::bad_signature:
      return "bad-signature";
    case Problem::unknown_key:
      return "unknown-key";
  }
  return "unknown";
}

Result<VerifyReport> verify(Database& db, const std::optional<Checkpoint>& external) {
  VerifyReport report;
  auto has = db.hasTable("decisions");
  if (!has) return has.error();
  if (!*has) return core::fail("not a Steward ledger: it has no decisions table");

  Walker walker(db, report);
  if (auto r = walker.prepare(); !r) return r.error();
  // Checkpoints are read before the decisions: a daemon appending meanwhile can only make the
  // decisions newer than the checkpoints, never the reverse.
  auto cps = loadCheckpoints(db, walker, report);
  if (!cps) return cps.error();
  bool external_ok = true;
  if (external) {
    ++report.checkpoints_checked;
    const bool signed_ok = signatureValid(*external);
    if (!signed_ok) {
      external_ok = false;
      walker.add(external->seq, Problem::bad_signature,
                 "the external checkpoint for " + d(external->seq) + " has an invalid signature");
    } else {
      bool found = false;
      auto keys = db.hasTable("checkpoint_keys");
      if (!keys) return keys.error();
      if (*keys) {
        auto known = db.prepare("SELECT 1 FROM checkpoint_keys WHERE public_key = ?1");
        if (!known) return known.error();
        known->bind(1, external->public_key);
        auto row = known->step();
        if (!row) return row.error();
        found = *row;
      }
      if (!found) {
        external_ok = false;
        walker.add(external->seq, Problem::unknown_key,
                   "the external checkpoint was signed by key " + external->key_id +
                       ", which the ledger no longer holds (its key was replaced)");
      }
    }
    // Compared with the chain even when its key is unknown: the copy outside the database is
    // the trusted one, and a replaced key does not make its hash wrong.
    if (signed_ok) cps->push_back(StoredCheckpoint{*external, true});
  }
  walker.setCheckpoints(std::move(*cps));

  auto q = db.prepare(
      "SELECT seq, id, at_ms, kind, subject, input, outcome, reasons, policy_revision, causes, "
      "prev_hash, hash FROM decisions ORDER BY seq");
  if (!q) return q.error();
  if (auto done = q->forEach([&](auto&) -> core::Result<void> {
        DecisionRowView r;
        r.seq = q->int64(0);
        r.id = q->textView(1);
        r.at_ms = q->int64(2);
        r.kind = q->textView(3);
        r.subject = q->textView(4);
        r.input = q->textView(5);
        r.outcome = q->textView(6);
        r.reasons = q->textView(7);
        r.policy_revision = q->textView(8);
        r.causes = q->textView(9);
        r.prev_hash = q->textView(10);
        const std::string_view hash = q->textView(11);
        if (auto w = walker.row(r, hash); !w) return w.error();
        report.head_seq = r.seq;
        report.head_hash.assign(hash);
        return {};
      });
      !done)
    return done.error();
  walker.finish();
  if (external) report.extends_checkpoint = external_ok && walker.externalMatches().value_or(false);

  auto& all = walker.findings();
  std::stable_sort(all.begin(), all.end(),
                   [](const Finding& a, const Finding& b) { return a.seq < b.seq; });
  if (all.size() > kMaxFindings) {
    report.findings_omitted = all.size() - kMaxFindings;
    all.resize(kMaxFindings);
  }
  report.findings = std::move(all);
  return report;
}

boost::json::object toJson(const VerifyReport& report) {
  boost::json::object o;
  o["intact"] = report.intact();
  o["records"] = report.records;
  o["head"] = boost::json::object{{"seq", report.head_seq}, {"hash", report.head_hash}};
  o["checkpoints_checked"] = report.checkpoints_checked;
  if (report.extends_checkpoint) {
    o["extends_checkpoint"] = *report.extends_checkpoint;
  } else {
    o["extends_checkpoint"] = nullptr;
  }
  if (report.findings.empty()) {
    o["first_bad_seq"] = nullptr;
  } else {
    o["first_bad_seq"] = report.findings.front().seq;
  }
  boost::json::array findings;
  for (const auto& f : report.findings) {
    findings.push_back(boost::json::object{
        {"seq", f.seq}, {"problem", problemName(f.problem)}, {"detail", f.detail}});
  }
  o["findings"] = std::move(findings);
  o["findings_omitted"] = report.findings_omitted;
  return o;
}

void renderVerify(const boost::json::object& report, const OutputStyle& style, std::ostream& out) {
  auto num = [&](std::string_view key) -> std::int64_t {
    const auto* v = report.if_contains(key);
    return v && v->is_int64()
               ? v->as_int64()
               : (v && v->is_uint64() ? static_cast<std::int64_t>(v->as_uint64()) : 0);
  };
  const auto* intact = report.if_contains("intact");
  const bool ok = intact && intact->is_bool() && intact->as_bool();
  const auto* findings = report.if_contains("findings");
  const auto* first = report.if_contains("first_bad_seq");
  if (ok) {
    out << paint("intact", Colour::green, style) << ": " << num("records") << " decisions, "
        << num("checkpoints_checked") << " checkpoint(s) checked\n";
  } else {
    out << paint("TAMPERED", Colour::red, style) << ": first bad record "
        << (first && first->is_int64() ? d(first->as_int64()) : std::string("?")) << " ("
        << num("records") << " decisions read, " << num("checkpoints_checked")
        << " checkpoint(s) checked)\n";
  }
  if (num("checkpoints_checked") == 0 && num("records") > 0) {
    out << paint("warning", Colour::yellow, style)
        << ": no signed checkpoint to compare with; a cut-off tail or a rewrite with recomputed "
           "hashes would go unnoticed\n";
  }
  if (const auto* ext = report.if_contains("extends_checkpoint"); ext && ext->is_bool()) {
    out << "external checkpoint: "
        << (ext->as_bool() ? paint("extended", Colour::green, style)
                           : paint("NOT extended", Colour::red, style))
        << '\n';
  }
  if (findings && findings->is_array() && !findings->as_array().empty()) {
    TextTable table({{"SEQ", true}, {"PROBLEM"}, {"DETAIL", false, 100}});
    for (const auto& f : findings->as_array()) {
      const auto* fo = f.if_object();
      if (!fo) continue;
      auto s = [&](std::string_view k) -> std::string {
        const auto* v = fo->if_contains(k);
        return v && v->is_string() ? std::string(v->as_string()) : std::string();
      };
      const auto* seq = fo->if_contains("seq");
      table.add({seq && seq->is_int64() ? d(seq->as_int64()) : "?", s("problem"), s("detail")},
                {Colour::none, Colour::red, Colour::none});
    }
    table.print(out, style);
    if (num("findings_omitted") > 0) out << "… and " << num("findings_omitted") << " more\n";
  }
}

}  // namespace steward::ledger
