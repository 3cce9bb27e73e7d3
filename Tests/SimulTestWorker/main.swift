import Simul
