"""Late and restated data: which days are provisional, and the nightly re-check of them."""
