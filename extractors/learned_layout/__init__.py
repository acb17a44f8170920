"""Where one supplier prints each value, learned from a reviewer's corrections, and applied to its next document.

A clerk corrects a header field or a line cell once; `teach` finds where the right value is printed on that
document (the words whose text or parsed value equals it, or the words the clerk picked on the page) and
describes how to find it again as a `Rule`:

- `anchor` / `side`: the label printed before it on its line ('Rechnungs-Nr.', '发票号码:'), inside the same word
  ('发票号码:12345678'), or over it (a label above its value), and the value's offset from that label;
- `zone`: where on the page the value sat (fractions of the page), for when the label is not found;
- `shape`: the value's format ('A-9-9' for 'INV-2024-0012'), `date_order`, the number of words and lines;
- `constant`: for the supplier's own particulars (its name, tax id, address, bank account), the text itself,
  since it is printed the same on every document of that supplier;
- for line cells, `column`: the title of the table column it sits under and that column's span.

`apply_rules` runs on the supplier's next document before the generic readers' values are shown: a value a rule
finds replaces the reader's (`method: learned_layout`, with the fact's id); a rule that finds nothing leaves the
reader's value and says so (an info issue `learned_layout_missed`).  Values from embedded XML or a QR code are
never overruled.  Pure: a Layout, an Extraction and rules in, a new Extraction out.
"""


from extractors.learned_layout.apply import apply_rules, find
from extractors.learned_layout.rules import (
    ANCHORED_CONFIDENCE, CONSTANT_CONFIDENCE, CONSTANT_FIELDS, LEARNED, ZONE_CONFIDENCE, AppliedRule, Picked, Rule,
    Taught, compact, shape,
)
from extractors.learned_layout.spans import by_rows
from extractors.learned_layout.teach import teach, teach_absent, teach_line_cell

__all__ = ["ANCHORED_CONFIDENCE", "AppliedRule", "CONSTANT_CONFIDENCE", "CONSTANT_FIELDS", "LEARNED", "Picked", "Rule",
           "Taught", "ZONE_CONFIDENCE", "apply_rules", "by_rows", "compact", "find", "shape", "teach", "teach_absent",
           "teach_line_cell"]
