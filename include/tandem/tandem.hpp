// Everything tandem offers.
#pragma once

#include "tandem/combine.hpp"
#include "tandem/errors.hpp"
#include "tandem/par.hpp"
#include "tandem/runtime.hpp"
#include "tandem/spawn.hpp"
#include "tandem/task.hpp"
#include "tandem/task_group.hpp"
