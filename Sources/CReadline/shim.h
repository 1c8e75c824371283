// GNU readline (Debian: libreadline-dev, pkg-config "readline").
// NOTE: readline's settings are C globals (rl_catch_signals, rl_attempted_completion_function, ...)
// that Swift 6 cannot assign; these accessors do it.
#pragma once
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>

static inline void snp_rl_set_catch_signals(int on) { rl_catch_signals = on; }
static inline int snp_rl_catch_signals(void) { return rl_catch_signals; }
static inline void snp_rl_set_completion(rl_completion_func_t *f) { rl_attempted_completion_function = f; }
static inline void snp_rl_set_completion_append_character(int c) { rl_completion_append_character = c; }
static inline void snp_rl_set_basic_word_break_characters(const char *s) { rl_basic_word_break_characters = s; }
static inline const char *snp_rl_line_buffer(void) { return rl_line_buffer; }
static inline int snp_rl_point(void) { return rl_point; }
static inline void snp_rl_set_attempted_completion_over(int v) { rl_attempted_completion_over = v; }
static inline int snp_history_length(void) { return history_length; }
static inline void snp_rl_set_completion_word_break_hook(rl_cpvfunc_t *f) { rl_completion_word_break_hook = f; }
static inline void snp_rl_set_readline_name(const char *s) { rl_readline_name = s; }
