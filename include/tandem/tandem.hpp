// Everything tandem offers.
#pragma once

#include "tandem/par.hpp"
