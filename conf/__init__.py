"""Default configuration files, shipped inside the package so a wheel or a zip carries them.
Read them through leo.config (which also honours --conf DIR and LEO_CONF)."""
