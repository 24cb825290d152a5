/*
** test_lua.c -- runs each script of tests/lua/ in a fresh Lua state with
** the lunet module, the way `lunet run` does. The scripts assert with
** assert(); a failing assertion fails the test with the script's message.
*/
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>

#include "lua_api.h"

static int run_script(const char *name, char *msg, size_t sz) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", LUNET_TEST_LUA_DIR, name);
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "lunet", luaopen_lunet, 0);
  lua_pop(L, 1);
  /* require "testlib" finds tests/lua/testlib.lua, as `lunet run` would */
  (void)luaL_dostring(L, "package.path = '" LUNET_TEST_LUA_DIR "/?.lua;' .. package.path");
  int rc = luaL_dofile(L, path);
  if (rc != LUA_OK) snprintf(msg, sz, "%s", lua_tostring(L, -1));
  lua_close(L);
  return rc;
}

/* Criterion copies parameters into its worker processes: names must be
** inline arrays, not pointers. */
typedef struct script {
  char name[64];
} script;

ParameterizedTestParameters(lua, scripts) {
  static script scripts[] = {
    {"train_subset.lua"},   /* an MLP on 2000 Fashion-MNIST images reaches 75% */
    {"determinism.lua"},   /* the same seeds give bit-identical numbers */
    {"data_api.lua"},     /* lunet.data, predict, parameters, set_parameter */
    {"regression.lua"},    /* least squares through training vs the normal equations */
    {"diverged.lua"},     /* NaN loss: status "diverged", no crash */
    {"callbacks.lua"},     /* on_epoch metrics, early stop, errors inside it */
    {"csv_roundtrip.lua"},  /* commas, quotes, newlines, full precision */
    {"errors.lua"},       /* messages name the plugin, parameter, layers and shapes */
    {"lstsq_train.lua"},   /* closed-form fits in lunet.train, lunet.bias_variance */
    {"script_bias_variance.lua"},      /* PRML fig. 3.6: bias^2 up, variance down, U-shaped sum */
    {"script_double_descent_rff.lua"}, /* Belkin fig. 2: peak at features = n, then descent */
    {"script_double_descent_nn.lua"},  /* model-, epoch- and sample-wise scripts run and log */
    {"script_toolbox.lua"},  /* perceptron bound, LMS, optimizers, regularizers, CNN */
    {"graph.lua"},           /* lunet.graph: two-input nodes and models; sequential is sugar */
    {"gradients.lua"},       /* model:gradients vs finite differences; lunet.trainer = lunet.train */
    {"tokens.lua"},          /* token ids into embedding; ids checked; float layers refuse them */
    {"text_data.lua"},       /* text dataset: windows, 90/5/5 split, vocab, streams, digits, encode/decode */
    {"recurrent.lua"},       /* rnn, gru, lstm learn a delay; stateful across windows; output last */
    {"language_model.lua"},  /* token cross-entropy, perplexity (V when uniform), generation */
    {"script_sequences.lua"}, /* char_lm, ngram_vs_neural, random_digits, vanishing_gradients --quick */
    {"bpe.lua"},             /* lunet.bpe: the course's example, round trips, save/load */
    {"script_bpe.lua"},      /* scripts/bpe.lua --quick: tokens per character fall with the vocabulary */
    {"ngram_word2vec.lua"},  /* n-grams: digits at 10, windows = stream, sums to 1; word2vec: planted neighbours */
    {"script_word2vec.lua"}, /* scripts/word2vec.lua --quick: she near he, analogies, plural arrows, figure */
    {"reliability.lua"},     /* issue 16's defects: class overflow, NUL cells, partial rows, BOM, NaN error, freed objects */
    {"heatmap.lua"},         /* lunet.heatmap: errors name the cell or option; PNG from rows or shape/values */
    {"script_positional_encoding.lua"}, /* PE[0, 2i] = 0, PE[0, 2i+1] = 1, period 2 pi, dot products by t - s */
    {"attention.lua"},       /* attention: 4E^2 + 4E parameters; attention_weights rows sum to 1, causal zeros */
    {"transformer.lua"},     /* lunet.transformer_block: the parameter formula, a causal char model learns */
    {"script_char_transformer.lua"}, /* transformer vs LSTM at equal size (5%): valid perplexity falls for both */
    {"script_seq2seq.lua"},  /* encoder-decoder reverses held-out digits by greedy decoding; anti-diagonal alignment */
    {"text_classes.lua"},    /* one class per file, fixed 80/10/10 split, pads; pad_mask hides pads from attention and pooling */
    {"script_text_classifier.lua"}, /* fortunes by category: mean vs attention pooling train; pooling weights skip the pads */
    {"script_masked_lm.lua"}, /* BERT masking 15% (80/10/10), masked-token loss falls, the encoder copied into the classifier */
    {"landscape.lua"},       /* lunet.landscape/interpolate: centre = the model, points by hand, filter norms */
    {"script_loss_landscape.lua"}, /* ResNet vs no skips: plane centre = the model, filter norms, line ends */
    {"script_architectures.lua"}, /* LeNet, VGG, ResNet, Inception: parameter formulas, concat by channels, --quick */
    {"script_gradient_diagnostics.lua"}, /* sigmoid: first layer's gradient < last's / 10; ReLU + He within 10x */
    {"augmentation.lua"},    /* fashion_mnist shift/flip exact, noise N(0, s^2), pure in (seed, epoch, sample); test split as is */
    {"devices.lua"},         /* lunet.devices(), device = "cuda", model:to(): the SPEC's errors without a GPU */
    {"usability.lua"},       /* model:save makes folders; lunet.data without y predicts, refuses training */
    {"schedule.lua"},        /* inverse_time lr = lr0 / (1 + decay t / step) against SGD by hand */
    {"script_classics.lua"}, /* polynomial fit, lasso vs ridge, Newton vs GD, ensembles and SWA: --quick, claims checked */
    {"resume.lua"},          /* lunet.train checkpoint=: killed with -9 at random moments, resumed bit-identical; on_epoch rows once */
    {"resume_state.lua"},    /* every optimizer's state survives a resume; other runs, damaged files refused */
  };
  return cr_make_param_array(script, scripts, sizeof scripts / sizeof scripts[0]);
}

ParameterizedTest(script *s, lua, scripts, .timeout = 120) {
  char msg[4096] = "";
  int rc = run_script(s->name, msg, sizeof msg);
  cr_assert_eq(rc, LUA_OK, "%s failed: %s", s->name, msg);
}
