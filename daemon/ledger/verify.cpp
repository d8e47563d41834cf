// See verify.hpp. One pass over the decisions in sequence order. Each record is hashed where it
// stands; a record whose hash only matches at another position (its id says which: ids are
// "D<seq>") is a genuine record out of place. A finding explains the broken link that follows
// it, so one tampering yields one finding, not a cascade.
#include "ledger/verify.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

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

    // A checkpoint attests a record, wherever it now stands: a displaced genuine record still
    // matches the checkpoint for the position it came from (one insert, one finding).
    checkCheckpointsAt(origin.value_or(r.seq), stored_hash, suspect);
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
    state_.assign(checkpoints_.size(), CheckpointState{});
  }

  void checkCheckpointsAt(std::int64_t seq, std::string_view stored_hash, bool suspect) {
    auto it = std::lower_bound(
        checkpoints_.begin(), checkpoints_.end(), seq,
        [](const StoredCheckpoint& c, std::int64_t s) { return c.checkpoint.seq < s; });
    for (; it != checkpoints_.end() && it->checkpoint.seq == seq; ++it) {
      auto& st = state_[static_cast<std::size_t>(it - checkpoints_.begin())];
      if (it->checkpoint.head_hash == stored_hash) {
        st.matched = true;
      } else {
        st.mismatched = true;
        // A record that already has a finding of its own explains the mismatch.
        st.explained = st.explained || suspect;
      }
    }
  }

  // After the walk: checkpoints beyond the last record mean the tail was cut off; checkpoints
  // no record matches mean history was rewritten. A rewrite is one finding: from the first
  // record after the last checkpoint that still matches up to the first one that does not.
  void finish() {
    std::optional<std::size_t> first_diverged;
    std::size_t more_diverged = 0;
    for (std::size_t i = 0; i < checkpoints_.size(); ++i) {
      const auto& c = checkpoints_[i];
      const auto& st = state_[i];
      const bool matches = c.checkpoint.seq == 0 || st.matched;
      if (c.external) external_matches_ = matches;
      if (matches) {
        if (c.checkpoint.seq > 0 && (!covered_ || c.checkpoint.seq >= covered_->checkpoint.seq))
          covered_ = c;
        continue;
      }
      if (st.mismatched) {
        if (st.explained) continue;
        if (first_diverged) {
          ++more_diverged;
        } else {
          first_diverged = i;
        }
        continue;
      }
      if (c.checkpoint.seq > prev_seq_) {
        add(prev_seq_ + 1, Problem::truncated,
            "the ledger ends at " + (prev_seq_ > 0 ? d(prev_seq_) : std::string("nothing")) +
                " but " + (c.external ? "the external" : "a stored") + " checkpoint signed at " +
                formatUtc(c.checkpoint.at) + " covers " + d(c.checkpoint.seq));
      }
      // A checkpoint whose record was deleted mid-chain is already a "deleted" finding.
    }
    if (first_diverged) {
      const auto& c = checkpoints_[*first_diverged];
      // The last checkpoint before it that still matches: history up to there is attested.
      std::int64_t good = 0;
      for (std::size_t i = 0; i < *first_diverged; ++i) {
        if (state_[i].matched) good = std::max(good, checkpoints_[i].checkpoint.seq);
      }
      const std::int64_t from = good + 1;
      std::string detail =
          "history from " + d(from) + " to " + d(c.checkpoint.seq) +
          " was rewritten (hashes recomputed): " + (c.external ? "the external" : "a stored") +
          " checkpoint signed at " + formatUtc(c.checkpoint.at) + " attests another hash for " +
          d(c.checkpoint.seq) + "; ";
      detail += good > 0 ? "the last checkpoint that still matches covers " + d(good)
                         : std::string("no earlier checkpoint matches");
      if (more_diverged > 0) {
        detail += "; " + std::to_string(more_diverged) + " more checkpoint(s) disagree as well";
      }
      add(from, Problem::diverged, std::move(detail));
    }
  }

  // The newest checkpoint that matches the chain, if any.
  const std::optional<StoredCheckpoint>& covered() const { return covered_; }
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
  struct CheckpointState {
    bool matched = false;     // a record it attests has the signed hash
    bool mismatched = false;  // a record at its position has another hash
    bool explained = false;   // ... and that record already has a finding
  };
  std::vector<CheckpointState> state_;
  std::optional<StoredCheckpoint> covered_;
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
  // Whether a stored checkpoint failed its own signature or key: then the ledger's key may have
  // been replaced, and an external checkpoint with a key it does not hold may be the genuine one.
  const bool stored_keys_doubtful = !walker.findings().empty();
  bool external_ok = true;
  if (external) {
    ++report.checkpoints_checked;
    // Problems of the external file are the file's (seq 0), never a record's: a made-up file
    // must not send the owner looking for a record that does not exist.
    const bool signed_ok = signatureValid(*external);
    bool compare = signed_ok;
    if (!signed_ok) {
      external_ok = false;
      walker.add(0, Problem::bad_signature,
                 "the checkpoint file's signature does not match its content (it claims " +
                     d(external->seq) +
                     "); the file was altered or made up and proves nothing about this ledger");
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
        // Compared with the chain only when the ledger's own checkpoints are in doubt too (its
        // key was replaced): otherwise the file most likely comes from another hub.
        compare = stored_keys_doubtful;
        walker.add(0, Problem::unknown_key,
                   "the checkpoint file was signed by key " + external->key_id +
                       ", which this ledger does not hold: " +
                       (stored_keys_doubtful
                            ? std::string("the ledger's key was replaced")
                            : std::string("the file comes from another hub or was made up")));
      }
    }
    if (compare) cps->push_back(StoredCheckpoint{*external, true});
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
  if (const auto& c = walker.covered()) {
    report.covered_seq = c->checkpoint.seq;
    report.covered_at = c->checkpoint.at;
  }

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

std::optional<std::int64_t> VerifyReport::firstBadSeq() const {
  for (const auto& f : findings) {
    if (f.seq > 0) return f.seq;
  }
  return std::nullopt;
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
  if (report.covered_seq) {
    o["covered"] = boost::json::object{
        {"seq", *report.covered_seq},
        {"at", report.covered_at ? formatUtc(*report.covered_at) : std::string()}};
  } else {
    o["covered"] = nullptr;
  }
  o["uncovered"] = report.uncovered();
  if (auto first = report.firstBadSeq()) {
    o["first_bad_seq"] = *first;
  } else {
    o["first_bad_seq"] = nullptr;
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

namespace {

// `text` in lines of at most `width` display characters, broken between words (a word longer
// than a line is broken inside); nothing is dropped.
std::vector<std::string> wrapWords(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t space = text.find(' ', pos);
    std::string_view word =
        text.substr(pos, space == std::string_view::npos ? text.npos : space - pos);
    pos = space == std::string_view::npos ? text.size() : space + 1;
    if (word.empty()) continue;
    while (displayWidth(word) > width) {
      if (!line.empty()) lines.push_back(std::exchange(line, {}));
      // Cut at a code point boundary after `width` code points.
      std::size_t cut = 0, n = 0;
      while (cut < word.size() && n < width) {
        ++cut;
        while (cut < word.size() && (static_cast<unsigned char>(word[cut]) & 0xC0) == 0x80)
          ++cut;
        ++n;
      }
      lines.emplace_back(word.substr(0, cut));
      word.remove_prefix(cut);
    }
    if (word.empty()) continue;
    if (!line.empty() && displayWidth(line) + 1 + displayWidth(word) > width) {
      lines.push_back(std::exchange(line, {}));
    }
    if (!line.empty()) line += ' ';
    line += word;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

void renderVerify(const boost::json::object& report, const OutputStyle& style, std::ostream& out,
                  std::size_t width) {
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
  // Findings about the checkpoint file (seq 0) blame the file, not a record.
  std::size_t file_findings = 0;
  if (findings && findings->is_array()) {
    for (const auto& f : findings->as_array()) {
      const auto* fo = f.if_object();
      const auto* seq = fo ? fo->if_contains("seq") : nullptr;
      if (seq && seq->is_int64() && seq->as_int64() == 0) ++file_findings;
    }
  }
  const std::string counts = std::to_string(num("records")) + " decisions read, " +
                             std::to_string(num("checkpoints_checked")) + " checkpoint(s) checked";
  if (ok) {
    out << paint("intact", Colour::green, style) << ": " << num("records") << " decisions, "
        << num("checkpoints_checked") << " checkpoint(s) checked\n";
  } else if (first && first->is_int64()) {
    out << paint("TAMPERED", Colour::red, style) << ": first bad record " << d(first->as_int64())
        << " (" << counts << ")\n";
  } else if (file_findings > 0) {
    out << paint("checkpoint file rejected", Colour::red, style)
        << ": it cannot vouch for this ledger; the chain itself shows no problem (" << counts
        << ")\n";
  } else {
    out << paint("TAMPERED", Colour::red, style) << " (" << counts << ")\n";
  }
  if (num("checkpoints_checked") == 0 && num("records") > 0) {
    out << paint("warning", Colour::yellow, style)
        << ": no signed checkpoint to compare with; a cut-off tail or a rewrite with recomputed "
           "hashes would go unnoticed\n";
  }
  if (num("checkpoints_checked") > 0 && num("uncovered") > 0) {
    const std::int64_t head = num("records") > 0 ? num("uncovered") : 0;
    const auto* covered = report.if_contains("covered");
    const auto* co = covered ? covered->if_object() : nullptr;
    std::int64_t from = 1;
    std::string since = "no checkpoint matches any of them";
    if (co) {
      const auto* s = co->if_contains("seq");
      const auto* at = co->if_contains("at");
      if (s && s->is_int64()) {
        from = s->as_int64() + 1;
        since = "the newest checkpoint that matches covers " + d(s->as_int64()) +
                (at && at->is_string() ? ", signed at " + std::string(at->as_string()) : "");
      }
    }
    if (head > 0) {
      out << paint("warning", Colour::yellow, style) << ": the newest " << head << " decision(s) ("
          << d(from) << " to " << d(from + head - 1) << ") are not covered by any checkpoint ("
          << since << "); they could be cut off or rewritten without a trace\n";
    }
  }
  if (const auto* ext = report.if_contains("extends_checkpoint"); ext && ext->is_bool()) {
    out << "external checkpoint: "
        << (ext->as_bool() ? paint("extended", Colour::green, style)
                           : paint("NOT extended", Colour::red, style))
        << '\n';
  }
  if (findings && findings->is_array() && !findings->as_array().empty()) {
    TextTable table({{"SEQ", true}, {"PROBLEM"}, {"DETAIL"}});
    // SEQ and PROBLEM take at most ~25 columns; the detail wraps into the rest, never cut.
    const std::size_t detail_width = width > 65 ? width - 25 : 40;
    for (const auto& f : findings->as_array()) {
      const auto* fo = f.if_object();
      if (!fo) continue;
      auto s = [&](std::string_view k) -> std::string {
        const auto* v = fo->if_contains(k);
        return v && v->is_string() ? std::string(v->as_string()) : std::string();
      };
      const auto* seq = fo->if_contains("seq");
      const std::string where = !seq || !seq->is_int64() ? "?"
                                : seq->as_int64() == 0   ? "file"
                                                         : d(seq->as_int64());
      const auto lines = wrapWords(printable(s("detail")), detail_width);
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i == 0) {
          table.add({where, s("problem"), lines[i]}, {Colour::none, Colour::red, Colour::none});
        } else {
          table.add({"", "", lines[i]});
        }
      }
    }
    table.print(out, style);
    if (num("findings_omitted") > 0) out << "… and " << num("findings_omitted") << " more\n";
  }
}

}  // namespace steward::ledger
