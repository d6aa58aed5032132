//! The billing-cycle job resumes from a per-run checkpoint (issue 10, #11).
