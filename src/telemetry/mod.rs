//! Application Insights delivery of usage records (DESIGN 3.4, 5).
