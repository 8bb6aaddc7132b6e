"""Segmentation: rule definitions compiled to safe SQL, evaluated into the warehouse, previewed, improved."""

from segments.compiler import CompiledSegment, compile_segment, profile_columns
from segments.definitions import SegmentError, SegmentFile, load_segment, load_segments
from segments.materialize import Conversion, SegmentReport, SegmentRun, materialize_segments
from segments.preview import Preview, preview_segment, render
from segments.suggestions import Suggestion, Suggestions, suggest

__all__ = [
    "CompiledSegment",
    "Conversion",
    "Preview",
    "SegmentError",
    "SegmentFile",
    "SegmentReport",
    "SegmentRun",
    "Suggestion",
    "Suggestions",
    "compile_segment",
    "load_segment",
    "load_segments",
    "materialize_segments",
    "preview_segment",
    "profile_columns",
    "render",
    "suggest",
]
