"""The ground floor: settings (`config`) and the artifact store with atomic writes and hashes (`store`). Imports nothing of featviz."""
