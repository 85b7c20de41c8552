"""Banks: the on-disk format every bank kind shares (:mod:`.format`, written through :mod:`.writer`), source
banks of dry clips (:mod:`.builder` with the clip rules of :mod:`.clip_rules`, the :mod:`.importers` and the
embedded :mod:`.starter` bank), bank summaries, and :mod:`.bank_set`, the banks a manifest refers to."""
