// The par engine: fork-join parallelism on a work-stealing pool.
#pragma once

#include "tandem/par/broadcast.hpp"
#include "tandem/par/errors.hpp"
#include "tandem/par/iter.hpp"
#include "tandem/par/join.hpp"
#include "tandem/par/pool.hpp"
#include "tandem/par/scope.hpp"
#include "tandem/par/sort.hpp"
#include "tandem/par/spawn.hpp"
