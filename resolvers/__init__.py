"""How each field gets its data: permission gates, DataLoaders, provider joins."""
