//! Concurrent subscription creates (issue 10, #5).
