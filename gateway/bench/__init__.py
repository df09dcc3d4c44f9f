"""``ccgate bench``: measurements printed next to the reference they are judged against, in one run."""
