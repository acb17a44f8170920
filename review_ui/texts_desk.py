"""The review screen's words for the desk area (issue 17): key -> (English, Simplified Chinese), merged into
i18n.texts()."""

PAIRS: dict[str, tuple[str, str]] = {
}
