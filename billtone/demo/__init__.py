"""Demo data for trying Billtone out (`billtone demo`): the one app that may use every other."""
