/* config.c and config_keys.c: the schema of configuration files */
#ifndef PHX_CONFIG_PRIV_H
#define PHX_CONFIG_PRIV_H

enum ftype {
	T_STR, T_INT, T_NUM, T_BOOL, T_DURATION,
	T_MAP,      /* fixed keys: sub is a NULL-key-terminated table */
	T_DICT,     /* any key, each value described by sub[0] */
	T_LIST,     /* sequence, each item described by sub[0] */
	T_STRLIST,  /* a string or a sequence of strings */
	T_INTLIST,  /* an integer or a sequence of integers */
	T_ANY,      /* free-form */
};

struct field {
	const char *key;
	enum ftype type;
	const struct field *sub;
};

/* the keys of a configuration file's top level, NULL-key-terminated */
extern const struct field phx_cfg_root_fields[];
/* every default, as the JSON of a whole configuration */
extern const char phx_cfg_defaults[];

#endif
