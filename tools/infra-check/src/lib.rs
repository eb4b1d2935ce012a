//! Structural checks of the deployment assets in `infra/` and `test-scripts/`.
