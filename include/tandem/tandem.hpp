// Everything tandem offers.
#pragma once

#include "tandem/combine.hpp"
#include "tandem/errors.hpp"
#include "tandem/par.hpp"
#include "tandem/par/compute.hpp"
#include "tandem/result_handle.hpp"
#include "tandem/runtime.hpp"
#include "tandem/spawn.hpp"
#include "tandem/spawn_blocking.hpp"
#include "tandem/sync/oneshot.hpp"
#include "tandem/task.hpp"
#include "tandem/task_group.hpp"
#include "tandem/time/clock.hpp"
#include "tandem/time/interval.hpp"
#include "tandem/time/sleep.hpp"
#include "tandem/time/timeout.hpp"
